"""Upstream Placement (openstack-placement) served on 127.0.0.1:PORT.

As nova_api.py: the WSGI application under the standard library's server,
one thread per request, for the adoption scenario and the side-by-side
benchmark. Usage: python placement_api.py PORT (with OS_PLACEMENT_CONFIG_DIR).
"""

import socketserver
import sys
from wsgiref import simple_server


class QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class ThreadingServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


def main() -> None:
    port = int(sys.argv[1])
    sys.argv = sys.argv[:1]
    from placement.wsgi import api

    server = simple_server.make_server(
        "127.0.0.1", port, api.application, server_class=ThreadingServer, handler_class=QuietHandler
    )
    print(f"placement-api listening on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
