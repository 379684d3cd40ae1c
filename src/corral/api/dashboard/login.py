"""Logging in and out, and the static files (htmx, the style sheet).

The token was already checked by the API's authenticator before the login
handler runs (corral.api.dashboard.session.authenticate): the handler only
keeps it in the session cookie.
"""

from __future__ import annotations

from corral.api.dashboard import render, session
from corral.api.http import Request, Response
from corral.errors import NotFound


def login_form(req: Request) -> Response:
    query = dict(req.query)
    error = query.get("error")
    message = {
        "refused": "That token was refused: it is not valid, or it has expired.",
        "expired": "Your session ended: log in again.",
    }.get(error or "")
    return render.page(
        req,
        "login.html",
        title="Log in",
        next=session.safe_next(query.get("next")),
        message=message,
        user=None,
    )


def login(req: Request) -> Response:
    """Keep the (authenticated) token in the session cookie and go on."""
    fields = session.form(req.body)
    token = session.check_token(fields.get(session.TOKEN_FIELD, ""))
    resp = session.redirect(session.safe_next(fields.get("next")))
    resp.add_header("set-cookie", session.cookie(session.TOKEN_COOKIE, token))
    return resp


def logout(req: Request) -> Response:
    resp = session.redirect(session.LOGIN_PATH)
    resp.add_header("set-cookie", session.cookie(session.TOKEN_COOKIE, "", max_age=0))
    return resp


def static(req: Request) -> Response:
    name = req.path_params["name"]
    body = render.static_file(name)
    if body is None:
        raise NotFound(f"No static file {name!r}.")
    content_type = render.STATIC_TYPES[name[name.rindex(".") :]]
    resp = Response(body=body, content_type=content_type)
    # Vendored at a pinned version: the name changes with an upgrade (VERSION).
    resp.add_header("cache-control", "public, max-age=3600")
    resp.add_header("x-content-type-options", "nosniff")
    return resp
