"""nova-api (osapi_compute) on 127.0.0.1:PORT.

Usage: python nova_api.py PORT, with OS_NOVA_CONFIG_DIR (and
OS_NOVA_CONFIG_FILES) set as Nova's WSGI application reads them.
"""

import sys

from wsgi_server import serve


def main() -> None:
    port = int(sys.argv[1])
    # Nova parses sys.argv as its own command line when it loads.
    sys.argv = sys.argv[:1]
    from nova.wsgi.osapi_compute import application

    serve("nova-api", port, application)


if __name__ == "__main__":
    main()
