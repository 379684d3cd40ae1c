"""Keystone (the `keystone` package from PyPI) on 127.0.0.1:PORT, for the real-Keystone suite.

Keystone ships its API only as a WSGI application; this serves it with the
standard library's threading server, one thread per request, as
tests/e2e/nova_side/wsgi_server.py does for Nova.

Usage: python keystone_api.py PORT, with OS_KEYSTONE_CONFIG_FILES set.
"""

import socketserver
import sys
from wsgiref import simple_server


class QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # keystone logs every request itself


class ThreadingServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


def main() -> None:
    port = int(sys.argv[1])
    sys.argv = sys.argv[:1]
    from keystone.server import wsgi

    application = wsgi.initialize_public_application()
    server = simple_server.make_server(
        "127.0.0.1", port, application, server_class=ThreadingServer, handler_class=QuietHandler
    )
    print(f"keystone listening on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
