"""GET /: the version document, readable without a token."""

from __future__ import annotations

from corral.api import microversion
from corral.api.http import Request, Response, json_response


def home(req: Request) -> Response:
    doc = {
        "versions": [
            {
                "id": f"v{microversion.MIN}",
                "max_version": str(microversion.MAX),
                "min_version": str(microversion.MIN),
                "status": "CURRENT",
                "links": [{"rel": "self", "href": ""}],
            }
        ]
    }
    return json_response(doc, version=req.version)
