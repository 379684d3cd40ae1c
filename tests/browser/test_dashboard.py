"""The dashboard in real Chromium against a served corral with the demo cloud:
log in, the overview and its live refresh, a host and why it refuses a
flavor, an explain, capacity; by keyboard alone; in a narrow window; a
non-admin refused. Each page's screenshot is written to the output folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.browser.conftest import DEMO_HOSTS, Cloud

WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 360, "height": 740}


def _login(page: Page, cloud: Cloud, token: str) -> None:
    page.goto(f"{cloud.url}/dashboard")
    expect(page).to_have_url(f"{cloud.url}/dashboard/login")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def console_errors() -> list[str]:
    return []


@pytest.fixture
def admin(browser: Browser, cloud: Cloud, console_errors: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    page.on("console", record)
    page.on(
        "response",
        lambda r: console_errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    _login(page, cloud, "admin:admin")
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    yield page
    context.close()
    # No CSP violation, no script error on any page the test opened.
    assert console_errors == []


def test_overview_shows_the_demo_cloud_and_refreshes(
    admin: Page, cloud: Cloud, output: Path
) -> None:
    page = admin
    assert page.url == f"{cloud.url}/dashboard"
    for zone in ("az1", "az2"):
        expect(page.get_by_role("img", name=f"Host map of zone {zone}")).to_be_visible()
    rows = page.locator("table.hosts tbody tr")
    expect(rows).to_have_count(DEMO_HOSTS)
    expect(page.get_by_role("link", name="demo-01", exact=True)).to_be_visible()
    expect(page.get_by_role("table", name="Per availability zone")).to_contain_text("az1")
    # The NoValidHost the fixture asked for is counted.
    no_valid = page.locator(".card", has_text="no valid host")
    assert int(no_valid.locator(".v").inner_text()) >= 1
    page.screenshot(path=str(output / "overview.png"), full_page=True)
    # htmx (vendored) fetches the live part again on its own.
    with page.expect_response(f"{cloud.url}/dashboard/live", timeout=20_000) as live:
        pass
    assert live.value.status == 200
    expect(page.get_by_role("img", name="Host map of zone az1")).to_be_visible()


def test_host_page_says_which_filters_refuse_a_flavor(admin: Page, output: Path) -> None:
    page = admin
    page.get_by_role("link", name="demo-01", exact=True).click()
    expect(page.get_by_role("heading", name="Host demo-01", level=1)).to_be_visible()
    expect(page.get_by_role("table", name="Inventories and usage")).to_contain_text("VCPU")
    expect(page.locator("text=Traits:")).to_be_visible()
    page.get_by_label("VCPUs").fill("1000")
    page.get_by_role("button", name="Explain on this host").click()
    expect(page.locator(".summary.refused")).to_contain_text("lacked VCPU")
    expect(page.locator("pre.cli")).to_contain_text("stage")
    page.screenshot(path=str(output / "host.png"), full_page=True)


def test_explain_runs_for_a_flavor_and_zone(admin: Page, output: Path) -> None:
    page = admin
    page.get_by_role("link", name="Explain").click()
    page.get_by_label("RAM (MB)").fill("1024")
    page.get_by_label("Zone").fill("az2")
    page.get_by_role("button", name="Explain").click()
    expect(page.locator(".summary.ok")).to_contain_text("hosts available")
    expect(page.get_by_role("table", name="Stages")).to_contain_text("not in AZ az2")
    page.screenshot(path=str(output / "explain.png"), full_page=True)


def test_capacity_counts_per_zone(admin: Page, output: Path) -> None:
    page = admin
    page.get_by_role("link", name="Capacity").click()
    page.get_by_label("VCPUs").fill("2")
    page.get_by_label("RAM (MB)").fill("2048")
    page.get_by_role("button", name="Count").click()
    table = page.get_by_role("table", name="Instances that still fit")
    expect(table).to_contain_text("az1")
    expect(table).to_contain_text("total")
    page.screenshot(path=str(output / "capacity.png"), full_page=True)


def test_a_bad_form_value_is_a_400_page_that_changes_nothing(
    admin: Page, cloud: Cloud, console_errors: list[str]
) -> None:
    page = admin
    response = page.goto(f"{cloud.url}/dashboard/capacity?vcpus=-3")
    assert response is not None and response.status == 400
    expect(page.get_by_role("alert")).to_contain_text("vcpus must be")
    # The 400 was the point here.
    console_errors.clear()


def test_keyboard_only(browser: Browser, cloud: Cloud, output: Path) -> None:
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    page.goto(f"{cloud.url}/dashboard/login")
    # The token field has focus; Enter sends the form.
    page.keyboard.type("admin:admin")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    # First Tab: the skip link; it moves focus to the page's content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Overview")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Explain")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Explain", level=1)).to_be_visible()
    page.get_by_label("VCPUs").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("1000")
    page.keyboard.press("Enter")
    expect(page.locator(".summary.refused")).to_be_visible()
    page.screenshot(path=str(output / "keyboard-explain.png"), full_page=True)
    context.close()


def test_narrow_window(browser: Browser, cloud: Cloud, output: Path) -> None:
    context = browser.new_context(viewport=NARROW)
    page = context.new_page()
    _login(page, cloud, "admin:admin")
    expect(page.get_by_role("img", name="Host map of zone az1")).to_be_visible()
    # Nothing wider than the window but the tables, which scroll in their own box.
    page.screenshot(path=str(output / "narrow-overview.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("link", name="demo-02", exact=True).click()
    page.screenshot(path=str(output / "narrow-host.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()


def test_a_non_admin_token_gets_403(browser: Browser, cloud: Cloud, output: Path) -> None:
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    page.goto(f"{cloud.url}/dashboard/login")
    page.get_by_label("Token").fill("alice:project-a")
    with page.expect_response(f"{cloud.url}/dashboard") as answer:
        page.get_by_role("button", name="Log in").click()
    assert answer.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("scheduler:dashboard:view")
    page.screenshot(path=str(output / "forbidden.png"), full_page=True)
    for path in ("/dashboard/capacity", "/dashboard/hosts/demo-01", "/dashboard/live"):
        response = page.goto(f"{cloud.url}{path}")
        assert response is not None and response.status == 403, path
    context.close()


def test_logout_ends_the_session(admin: Page, cloud: Cloud) -> None:
    page = admin
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{cloud.url}/dashboard/login")
    page.goto(f"{cloud.url}/dashboard")
    expect(page).to_have_url(f"{cloud.url}/dashboard/login")
