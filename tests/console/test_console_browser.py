"""The console in headless Chromium (Debian's, driven by Playwright): each
role signs in and sees its pages and not the others'; a supervisor
acknowledges an alert; the central bank closes a settlement window.

Screenshots go to test-artifacts/console/ (gitignored). The tests skip only
when /usr/bin/chromium is missing and CI is not set: in CI they must run.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="headless Chromium is not installed (apt-get install -y chromium)",
    ),
    # One backend is enough to drive pages; the client tests cover both.
    pytest.mark.parametrize("backend", ["sqlite"]),
]


@pytest.fixture
def live(world):
    """The world's app served on a free 127.0.0.1 port."""
    server = make_server("127.0.0.1", 0, world.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    world.base = f"http://127.0.0.1:{server.server_port}"
    yield world
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_as(live, chromium):
    """A fresh browser context signed in as a role; its pages are closed after the test."""
    contexts = []

    def open_(role: str):
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live.base}/console/")
        assert "/console/sign-in" in page.url
        if not (ARTIFACTS / "sign-in.png").exists():
            shoot(page, "sign-in")
        page.get_by_label("API key").fill(live.keys[role])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live.base}/console/")
        return page

    yield open_
    for context in contexts:
        context.close()


def shoot(page, name: str) -> None:
    """The page from its top, at most 1000 px of it (long tables stay small files)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = min(page.evaluate("document.documentElement.scrollHeight"), 1000)
    page.screenshot(
        path=str(ARTIFACTS / f"{name}.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1280, "height": height},
    )


NAV = (
    "Operators",
    "Settlement",
    "Alerts",
    "Exclusions",
    "Gaming days",
    "Journal",
    "Audit",
    "Wallets",
    "Clock",
    "Webhooks",
)
SEES = {
    "central_bank": {"Operators", "Settlement", "Alerts", "Audit", "Webhooks"},
    "supervisor": {"Alerts", "Exclusions", "Gaming days", "Webhooks"},
    "auditor": {
        "Operators",
        "Settlement",
        "Alerts",
        "Exclusions",
        "Gaming days",
        "Journal",
        "Audit",
        "Wallets",
        "Webhooks",
    },
    "admin": set(NAV),
}


def nav_links(page) -> set[str]:
    return set(page.get_by_role("navigation", name="Pages").get_by_role("link").all_inner_texts())


def test_each_role_sees_its_pages(open_as, live):
    for role, sees in SEES.items():
        page = open_as(role)
        assert nav_links(page) == sees, role
        shoot(page, f"{role}-home")
        for label in sorted(sees):
            page.get_by_role("navigation", name="Pages").get_by_role("link", name=label).click()
            page.wait_for_load_state()
            assert page.get_by_role("heading", level=1).count() == 1
            shoot(page, f"{role}-{label.lower().replace(' ', '-')}")
        # A page of another role, asked for by its address, is refused.
        hidden = sorted(set(NAV) - sees)
        if hidden:
            path = {
                "Journal": "journal",
                "Clock": "clock",
                "Wallets": "wallets",
                "Operators": "operators",
                "Settlement": "settlement",
                "Exclusions": "exclusions",
                "Gaming days": "gaming-days",
                "Audit": "audit",
                "Alerts": "alerts",
                "Webhooks": "webhooks",
            }[hidden[0]]
            response = page.goto(f"{live.base}/console/{path}")
            assert response.status == 403
            assert "does not see this page" in page.content()

    # What the pages show, role by role.
    cb = open_as("central_bank")
    cb.goto(f"{live.base}/console/operators")
    assert cb.locator("svg.chart").is_visible()
    assert "BOCMO" in cb.locator("table").first.inner_text()
    sup = open_as("supervisor")
    sup.goto(f"{live.base}/console/alerts")
    assert sup.locator(f"#alert-{live.world['alert']}").is_visible()
    sup.goto(f"{live.base}/console/casinos/COTAI/players/{live.world['player']}")
    shoot(sup, "supervisor-player")
    assert "buy-in" in sup.locator("ol.timeline").inner_text()


def test_a_supervisor_acknowledges_and_the_central_bank_closes_the_window(open_as, live):
    alert = live.world["alert"]
    sup = open_as("supervisor")
    sup.goto(f"{live.base}/console/alerts")
    row = sup.locator(f"#alert-{alert}")
    # Keyboard only: focus the button and press Enter.
    row.get_by_role("button", name=f"Acknowledge alert {alert}").focus()
    sup.keyboard.press("Enter")
    sup.wait_for_load_state()
    assert sup.get_by_role("status").inner_text() == f"Alert {alert} acknowledged."
    assert "acknowledged" in sup.locator(f"#alert-{alert} td.status").inner_text()
    shoot(sup, "supervisor-acknowledged")
    assert live.ok("GET", f"/v1/alerts/{alert}")["status"] == "acknowledged"

    cb = open_as("central_bank")
    cb.goto(f"{live.base}/console/settlement")
    assert "Open window 1" in cb.content()
    cb.get_by_role("button", name="Close window 1 and settle").click()
    cb.wait_for_load_state()
    assert "The window is closed and settled." in cb.get_by_role("status").inner_text()
    assert "Open window 2" in cb.content()
    cb.get_by_role("link", name="Report of window 1").click()
    cb.wait_for_load_state()
    assert "1234.56" in cb.locator("table").inner_text()
    shoot(cb, "central_bank-report")
    assert live.ok("GET", "/v1/settlement/windows/1")["status"] == "SETTLED"
