from __future__ import annotations

from tests.conftest import PlacementClient


def test_version_document_needs_no_token(api: PlacementClient) -> None:
    resp = api.client.get("/")
    assert resp.status_code == 200
    doc = resp.json()["versions"][0]
    assert doc["min_version"] == "1.0"
    assert doc["max_version"] == "1.39"
    assert resp.headers["openstack-api-version"] == "placement 1.0"


def test_unknown_version_is_406_with_range(api: PlacementClient) -> None:
    resp = api.get("/", version="1.99")
    assert resp.status_code == 406
    err = resp.json()["errors"][0]
    assert (err["min_version"], err["max_version"]) == ("1.0", "1.39")


def test_garbage_version_is_400(api: PlacementClient) -> None:
    resp = api.get("/", version="one.two")
    assert resp.status_code == 400


def test_token_required_off_root(api: PlacementClient) -> None:
    resp = api.client.get("/resource_providers")
    assert resp.status_code == 401
    assert resp.json()["errors"][0]["status"] == 401
