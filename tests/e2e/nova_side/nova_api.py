"""nova-api (osapi_compute) served on 127.0.0.1:PORT by a threading WSGI server.

Nova 34 ships the compute API only as a WSGI application
(nova.wsgi.osapi_compute); production runs it under uWSGI or mod_wsgi. The
test cloud serves it with the standard library's WSGI server, one thread per
request. Usage: python nova_api.py PORT (with OS_NOVA_CONFIG_DIR set).
"""

import socketserver
import sys
from wsgiref import simple_server


class QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # nova's request_log middleware logs every request already


class ThreadingServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


def main() -> None:
    port = int(sys.argv[1])
    # Nova parses sys.argv as its own command line when it loads.
    sys.argv = sys.argv[:1]
    from nova.wsgi.osapi_compute import application

    server = simple_server.make_server(
        "127.0.0.1", port, application, server_class=ThreadingServer, handler_class=QuietHandler
    )
    print(f"nova-api listening on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
