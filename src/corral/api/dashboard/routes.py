"""The dashboard's paths (under /dashboard) and the handler for each method."""

from __future__ import annotations

from corral.api.dashboard import capacity, explain, hosts, login, overview
from corral.api.dashboard.session import PREFIX
from corral.api.http import Handler

RouteTable = list[tuple[str, dict[str, Handler]]]


def dashboard_routes() -> RouteTable:
    return [
        (PREFIX, {"GET": overview.overview}),
        (f"{PREFIX}/live", {"GET": overview.live}),
        (f"{PREFIX}/capacity", {"GET": capacity.capacity_page}),
        (f"{PREFIX}/hosts/{{host}}", {"GET": hosts.show_host}),
        (f"{PREFIX}/explain", {"GET": explain.explain_form, "POST": explain.explain_run}),
        (f"{PREFIX}/login", {"GET": login.login_form, "POST": login.login}),
        (f"{PREFIX}/logout", {"POST": login.logout}),
        (f"{PREFIX}/static/{{name}}", {"GET": login.static}),
    ]
