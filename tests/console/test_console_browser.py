"""The console in headless Chromium (Debian's, driven by Playwright): each
role signs in and sees its pages and not the others'; a supervisor
acknowledges an alert; the central bank closes a settlement window; each
role's charts show the API's figures, times are the sandbox clock's in UTC+8,
an export's progress bar reaches 100 % without a reload, and axe-core finds
no serious or critical accessibility violation on any page.

Screenshots go to test-artifacts/console/ (gitignored). The tests skip only
when /usr/bin/chromium is missing and CI is not set: in CI they must run.
axe-core is vendored under tests/console/vendor/axe-core/ (its licence beside it).
"""

from __future__ import annotations

import io
import os
import tarfile
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from wallets.audit.export import bundle
from wallets.core.clock import SANDBOX_TZ

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
SIGN_IN_CHECKED: list[bool] = []
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
    checked = SIGN_IN_CHECKED

    def open_(role: str):
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live.base}/console/")
        assert "/console/sign-in" in page.url
        if not (ARTIFACTS / "sign-in.png").exists():
            shoot(page, "sign-in")
        if role == "admin" and not checked:  # the sign-in page, once a module
            check_a11y(page)
            checked.append(True)
        page.get_by_label("API key").fill(live.keys[role])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live.base}/console/")
        return page

    yield open_
    for context in contexts:
        context.close()


def shoot(page, name: str, part: str | None = None) -> None:
    """The page from its top, at most 1000 px of it (long tables stay small
    files); or only the element ``part`` selects (a chart further down)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if part is not None:
        page.locator(part).screenshot(path=str(ARTIFACTS / f"{name}.png"))
        return
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
)
SEES = {
    "central_bank": {"Operators", "Settlement", "Alerts", "Audit"},
    "supervisor": {"Alerts", "Exclusions", "Gaming days"},
    "auditor": {
        "Operators",
        "Settlement",
        "Alerts",
        "Exclusions",
        "Gaming days",
        "Journal",
        "Audit",
        "Wallets",
    },
    "admin": set(NAV),
}


# The pages whose accessibility this test checks (as the admin, with every
# form); the others are checked where their charts are.
A11Y_HERE = {"Exclusions", "Journal", "Wallets"}


def nav_links(page) -> set[str]:
    return set(page.get_by_role("navigation", name="Pages").get_by_role("link").all_inner_texts())


def test_each_role_sees_its_pages(open_as, live):
    shot: set[str] = set()  # a screenshot of each page once, as the first role that sees it
    for role, sees in SEES.items():
        page = open_as(role)
        assert nav_links(page) == sees, role
        if role == "admin":
            check_a11y(page)  # the home page
            shoot(page, f"{role}-home")
        for label in sorted(sees):
            page.get_by_role("navigation", name="Pages").get_by_role("link", name=label).click()
            page.wait_for_load_state()
            assert page.get_by_role("heading", level=1).count() == 1
            if role == "admin" and label in A11Y_HERE:
                check_a11y(page)
            if label not in shot:
                shoot(page, f"{role}-{label.lower().replace(' ', '-')}")
                shot.add(label)
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
            }[hidden[0]]
            response = page.goto(f"{live.base}/console/{path}")
            assert response.status == 403
            assert "does not see this page" in page.content()

    # What the pages show, role by role.
    cb = open_as("central_bank")
    cb.goto(f"{live.base}/console/operators")
    assert cb.locator("svg.chart").count() == 2 + len(cb.locator("table tbody tr").all())
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
    assert "CNY 1,234.56" in cb.locator("table").inner_text()
    check_a11y(cb)
    shoot(cb, "central_bank-report")
    assert live.ok("GET", "/v1/settlement/windows/1")["status"] == "SETTLED"


# ---- charts, times, live progress, accessibility ------------------------------------


def check_a11y(page) -> None:
    """axe-core on the page as it stands: no serious or critical violation."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '));
        }"""
    )
    assert found == [], (page.url, found)


def values(page, selector: str) -> list[str]:
    """The data-value of each point (or bar) a selector finds, in order."""
    return page.locator(selector).evaluate_all("els => els.map(e => e.dataset.value)")


def local(iso: str) -> str:
    """An API instant as the console prints it (UTC+8)."""
    return datetime.fromisoformat(iso).astimezone(SANDBOX_TZ).strftime("%Y-%m-%d %H:%M")


def test_each_roles_charts_show_the_apis_figures(open_as, live, monkeypatch):
    """One world for the four roles (a world and a server cost seconds), in an
    order where each leaves what the next expects: reads first, then the
    export, then the moves of the clock."""
    central_bank_sees_the_apis_figures_over_time(open_as, live)
    auditor_watches_the_chain_and_an_export_to_its_end(open_as, live, monkeypatch)
    supervisor_sees_days_alerts_and_a_players_day(open_as, live)
    a_tester_moves_the_clock_and_sees_a_wallets_limits(open_as, live)


def central_bank_sees_the_apis_figures_over_time(open_as, live):
    cb = open_as("central_bank")
    cb.goto(f"{live.base}/console/operators")
    operators = {o["code"]: o for o in live.ok("GET", "/v1/operators")["items"]}
    for code, o in operators.items():
        points = values(cb, f'#chart-positions g[data-series="{code} position"] .point')
        assert points[-1] == o["position"], code  # now: the API's position
        # Before the afternoon's issuance ICBC held CNY 1,000,000.00 less.
        assert points[0] == {"ICBC": "3000000.00", "BOCMO": "6000000.00"}[code]
    recon = {c["id"]: c for c in live.ok("GET", "/v1/audit/reconciliation")["checks"]}
    outstanding = values(cb, '#chart-outstanding g[data-series="e-CNY outstanding"] .point')
    assert outstanding[-1] == recon[3]["figures"]["outstanding"]
    reserves = values(cb, '#chart-outstanding g[data-series="Free reserves, all operators"] .point')
    total = sum(int(o["reserve"].replace(".", "")) for o in operators.values())
    assert reserves[-1] == f"{total // 100}.{total % 100:02d}"
    assert (
        "Free reserves, all operators: CNY 5,000,000.00"
        in cb.locator("#chart-outstanding").text_content()
    )
    check_a11y(cb)
    shoot(cb, "central_bank-operators")
    shoot(cb, "central_bank-history", part="#history-charts")

    cb.goto(f"{live.base}/console/settlement")
    window = live.ok("GET", "/v1/settlement/windows/1")
    assert cb.locator('#chart-windows g[data-row="Window 1"] .span.open').count() == 1
    for p in window["positions"]:
        row = cb.locator(f'figure[data-window="1"][data-operator="{p["operator"]}"]')
        if p["sent"] == "0.00" and p["received"] == "0.00":
            assert row.count() == 0
            continue
        gauge = row.locator("g.gauge")
        assert gauge.get_attribute("data-used") == p["peak_debit"]
        assert gauge.get_attribute("data-cap") == p["net_debit_cap"]
        assert row.locator("[data-net]").get_attribute("data-net") == p["net"]
        assert f"{p['utilisation_percent']} %" in gauge.text_content()
    # The window opened at the sandbox's 10:00 in Macau, 02:00 UTC.
    opened = cb.locator("#open-window + p time")
    assert opened.inner_text() == local(window["opened_at"]) == "2026-03-02 10:00"
    assert opened.get_attribute("title") == "2026-03-02 02:00:00 UTC"
    check_a11y(cb)
    shoot(cb, "central_bank-settlement")
    shoot(cb, "central_bank-windows", part="#windows-charts")


def supervisor_sees_days_alerts_and_a_players_day(open_as, live):
    """Moves the clock three days on: Friday 07:00."""
    live.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 3 * 86400}, status=200)
    clock = live.ok("GET", "/v1/sandbox/clock")
    alert = live.ok("GET", f"/v1/alerts/{live.world['alert']}")
    sup = open_as("supervisor")
    sup.goto(f"{live.base}/console/alerts")
    # The overdue queue first, its deadline in words against the sandbox clock.
    tables = sup.locator("table.alerts")
    assert tables.first.get_attribute("id") == "overdue-alerts"
    due = tables.first.locator(f"#alert-{alert['id']} td.due")
    due_at = datetime.fromisoformat(alert["due_at"]).astimezone(SANDBOX_TZ)
    assert due_at == datetime(2026, 3, 5, tzinfo=SANDBOX_TZ)  # the end of Wed 4 Mar
    now = datetime.fromisoformat(clock["local_now"])
    assert now.date() == datetime(2026, 3, 6).date()  # Friday: Thursday and Friday late
    assert due.inner_text().startswith("overdue since Wed 4 Mar, 24:00 (2 working days late)")
    assert due.locator("time").get_attribute("title") == "2026-03-04 16:00:00 UTC"
    # Alerts per day: the API's alerts, counted by their day in UTC+8.
    raised = datetime.fromisoformat(alert["raised_at"]).astimezone(SANDBOX_TZ)
    bars = sup.locator(f'#chart-alerts g[data-group="{raised:%d %b}"] [data-series="minimal_play"]')
    api = [a for a in live.ok("GET", "/v1/alerts")["items"] if a["type"] == "minimal_play"]
    assert bars.get_attribute("data-value") == str(len(api)) == "1"
    check_a11y(sup)
    shoot(sup, "supervisor-alerts")

    sup.goto(f"{live.base}/console/gaming-days")
    day = live.ok("GET", "/v1/casinos/COTAI/gaming-days/2026-03-02", key="supervisor")
    group = sup.locator('#chart-days-COTAI g[data-group="2026-03-02"]')
    for series, figure in (
        ("Buy-ins", day["buy_ins"]),
        ("Cash-outs", day["cash_outs"]),
        ("GGR", day["ggr"]),
        ("Special gaming tax", day["special_gaming_tax"]["amount"]),
    ):
        assert group.locator(f'[data-series="{series}"]').get_attribute("data-value") == figure
    check_a11y(sup)
    shoot(sup, "supervisor-gaming-days")

    player = live.world["player"]
    sup.goto(f"{live.base}/console/casinos/COTAI/players/{player}")
    ops = live.ok("GET", f"/v1/casinos/COTAI/transactions?wallet={player}", key="supervisor")[
        "items"
    ]
    chips = values(sup, '#chart-player g[data-series="Chips held"] .point')
    bought = values(sup, '#chart-player g[data-series="e-CNY in (buy-ins)"] .point')
    assert len(chips) == len(ops) == 3
    casino = live.ok("GET", "/v1/casinos/COTAI", key="supervisor")
    assert (
        chips
        == ["100000.00", "99999.00", casino["chips_with_players"]]
        == [
            "100000.00",
            "99999.00",
            "0.00",
        ]
    )
    assert bought[-1] == "100000.00" == ops[0]["amount"]
    mark = sup.locator("#chart-player g.mark.alert")
    assert mark.get_attribute("data-value") == f"alert {alert['id']}"
    assert mark.get_attribute("data-at") == datetime.fromisoformat(alert["raised_at"]).isoformat()
    check_a11y(sup)
    shoot(sup, "supervisor-player")


def auditor_watches_the_chain_and_an_export_to_its_end(open_as, live, monkeypatch):
    aud = open_as("auditor")
    aud.goto(f"{live.base}/console/audit")
    digest = live.ok("GET", "/v1/audit/digest")
    chain = values(aud, '#chart-chain g[data-series="Entries in the chain"] .point')
    assert chain[-1] == str(digest["sequence"])
    api = live.ok("GET", "/v1/audit/checkpoints")["items"]
    marks = values(aud, "#chart-chain g.mark.checkpoint")
    assert marks and marks == [str(c["sequence"]) for c in api]
    check_a11y(aud)

    # An export held before its snapshot, so that the page sees it under way.
    go = threading.Event()
    monkeypatch.setattr(bundle, "before_snapshot", lambda export_id: go.wait(10))
    aud.get_by_role("button", name="Start export").click()
    aud.wait_for_load_state()
    row = aud.locator("#export-1")
    bar = row.locator("progress")
    assert int(bar.get_attribute("value")) < 100
    assert row.locator("a.archive").is_hidden()
    aud.evaluate("window.stayed = true")  # gone if the page reloads
    go.set()
    aud.wait_for_function("document.querySelector('#export-1 progress').value === 100")
    assert aud.evaluate("window.stayed") is True
    assert row.locator(".status").inner_text() == "succeeded, 100 %"
    assert live.ok("GET", "/v1/audit/exports/1")["status"] == "succeeded"
    shoot(aud, "auditor-audit")
    shoot(aud, "auditor-exports", part="#export-jobs")
    with aud.expect_download() as download:
        row.get_by_role("link", name="Download job 1 as .tar.gz").click()
    with tarfile.open(fileobj=io.BytesIO(Path(download.value.path()).read_bytes())) as tar:
        names = tar.getnames()
    assert names[0] == "export-job-1/manifest.json" and "export-job-1/journal.csv" in names


def a_tester_moves_the_clock_and_sees_a_wallets_limits(open_as, live):
    live.ok("PUT", "/v1/settlement/settings", json={"cutoff": "17:00"}, status=200)
    admin = open_as("admin")
    admin.goto(f"{live.base}/console/clock")
    check_a11y(admin)
    before = datetime.fromisoformat(live.ok("GET", "/v1/sandbox/clock")["now"])
    shown = admin.locator("#now time")
    assert shown.get_attribute("datetime") == before.isoformat()
    assert shown.inner_text() == before.astimezone(SANDBOX_TZ).strftime("%a %Y-%m-%d %H:%M:%S")
    shoot(admin, "admin-clock")

    admin.get_by_role("button", name="+1 hour").click()
    admin.wait_for_load_state()
    now = datetime.fromisoformat(live.ok("GET", "/v1/sandbox/clock")["now"])
    assert now == before + timedelta(hours=1)
    assert admin.locator("#now time").get_attribute("datetime") == now.isoformat()

    # Friday 08:00: the next settlement cut-off (17:00) closes the open window, as
    # the API's clock does.
    assert live.ok("GET", "/v1/settlement/windows/1")["status"] == "OPEN"
    # The buttons work from the keyboard too.
    admin.get_by_role("button", name="Next cut-off").focus()
    with admin.expect_navigation():
        admin.keyboard.press("Enter")
    assert (
        "The clock moved to the next settlement cut-off."
        in admin.get_by_role("status").inner_text()
    )
    now = datetime.fromisoformat(live.ok("GET", "/v1/sandbox/clock")["now"])
    assert now.astimezone(SANDBOX_TZ).strftime("%H:%M") == "17:00"
    assert live.ok("GET", "/v1/settlement/windows/1")["status"] == "SETTLED"

    # The next gaming day starts at the profile's cut-off, 06:00 on Saturday.
    target = admin.get_by_role("button", name="Next gaming day").get_attribute("data-to")
    admin.get_by_role("button", name="Next gaming day").click()
    admin.wait_for_load_state()
    assert datetime.fromisoformat(target).astimezone(SANDBOX_TZ).strftime("%a %H:%M") == "Sat 06:00"
    assert datetime.fromisoformat(live.ok("GET", "/v1/sandbox/clock")["now"]) == (
        datetime.fromisoformat(target)
    )

    # A class 2 wallet that paid today: its gauges are the API's limits and usage.
    payer = live.wallet("ICBC", 2, fund="8000.00")
    live.ok(
        "POST",
        "/v1/transfers",
        key="ICBC",
        json={"from_wallet": payer, "to_wallet": live.world["payer"], "amount": "4321.00"},
    )
    api = live.ok("GET", f"/v1/wallets/{payer}/limits")
    admin.goto(f"{live.base}/console/wallets")
    admin.get_by_role("link", name=f"Wallet {payer}", exact=True).click()
    admin.wait_for_load_state()
    for name, used, cap in (
        ("balance", api["balance"], api["limits"]["balance_cap"]),
        ("today", api["used_today"], api["limits"]["daily_out"]),
        ("year", api["used_this_year"], api["limits"]["annual_out"]),
    ):
        gauge = admin.locator(f"#limit-{name} g.gauge")
        assert gauge.get_attribute("data-used") == used, name
        assert gauge.get_attribute("data-cap") == (cap or ""), name
    assert api["used_today"] == "4321.00"
    check_a11y(admin)
    shoot(admin, "admin-wallet")
