"""The explain page: why hosts would or would not take a flavor in a zone.

GET shows the form; POST (with the CSRF token) runs the explain, as
POST /scheduler/v1/explain does, and shows the stages.
"""

from __future__ import annotations

from corral.api.dashboard import forms, render, session
from corral.api.dashboard.explaining import explain
from corral.api.http import Request, Response
from corral.api.policies import scheduler as policy


def explain_form(req: Request) -> Response:
    req.authorize(policy.DASHBOARD_VIEW)
    return render.page(req, "explain.html", title="Explain", values={}, result=None)


def explain_run(req: Request) -> Response:
    """Run the explain for the form's flavor, zone and project."""
    req.authorize(policy.DASHBOARD_VIEW)
    values = session.form(req.body)
    shape = forms.shape(values, required=True)
    assert shape is not None
    result = explain(
        req,
        shape,
        zone=forms.name(values, "availability_zone"),
        project_id=forms.name(values, "project_id"),
    )
    return render.page(
        req, "explain.html", title="Explain", values=values, result=result, shape=shape
    )
