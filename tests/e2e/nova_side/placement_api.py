"""Upstream Placement (openstack-placement 16) on 127.0.0.1:PORT, for the
adoption scenario and the side-by-side benchmark.

Usage: python placement_api.py PORT, with OS_PLACEMENT_CONFIG_DIR set.
"""

import sys

from wsgi_server import serve


def main() -> None:
    port = int(sys.argv[1])
    sys.argv = sys.argv[:1]
    from placement.wsgi import api

    serve("placement-api", port, api.application)


if __name__ == "__main__":
    main()
