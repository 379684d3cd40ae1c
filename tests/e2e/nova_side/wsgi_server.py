"""A threading WSGI server for the test cloud's Nova and Placement APIs.

Nova 34 and Placement 16 ship their APIs only as WSGI applications
(production runs them under uWSGI or mod_wsgi). The test cloud serves them
with the standard library's server, one thread per request.
"""

import socketserver
from collections.abc import Callable
from typing import Any
from wsgiref import simple_server


class QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # the applications log every request themselves


class ThreadingServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


def serve(name: str, port: int, application: Callable[..., Any]) -> None:
    server = simple_server.make_server(
        "127.0.0.1", port, application, server_class=ThreadingServer, handler_class=QuietHandler
    )
    print(f"{name} listening on 127.0.0.1:{port}", flush=True)
    server.serve_forever()
