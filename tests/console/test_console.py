"""The console through Flask's test client: sign-in and out, CSRF, and what
each role sees (no browser: fast)."""

from __future__ import annotations

import re
import time

import pytest

from wallets.audit.log import EventFilters, list_events

PAGES = {
    "operators": "/console/operators",
    "settlement": "/console/settlement",
    "alerts": "/console/alerts",
    "exclusions": "/console/exclusions",
    "gaming_days": "/console/gaming-days",
    "journal": "/console/journal",
    "audit": "/console/audit",
    "wallets": "/console/wallets",
    "clock": "/console/clock",
    "webhooks": "/console/webhooks",
}
# Which pages each role opens (the others answer 403).
SEES = {
    "admin": set(PAGES),
    "central_bank": {"operators", "settlement", "alerts", "audit", "webhooks"},
    "supervisor": {"alerts", "exclusions", "gaming_days", "webhooks"},
    "auditor": {
        "operators",
        "settlement",
        "alerts",
        "exclusions",
        "gaming_days",
        "journal",
        "audit",
        "wallets",
        "webhooks",
    },
    "ICBC": {"wallets", "webhooks"},
    "merchant": {"alerts", "gaming_days", "webhooks"},
}


def test_pages_need_a_signed_in_key(world, browser):
    b = browser(world)
    r = b.get("/console/operators")
    assert r.status_code == 302 and "/console/sign-in" in r.headers["Location"]
    r = b.sign_in("ecny_not-a-key")
    assert r.status_code == 401 and "Unknown or revoked API key" in r.get_data(as_text=True)
    assert b.get("/console/").status_code == 302


def test_sign_in_sets_a_safe_cookie_without_the_key_and_sign_out_ends_it(world, browser):
    b = browser(world)
    key = world.keys["auditor"]
    anonymous = b.token()
    r = b.sign_in(key)
    assert b.csrf != anonymous  # a new token with the signed-in session
    assert r.status_code == 302 and r.headers["Location"] == "/console/"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert key not in cookie and "Secure" not in cookie  # http://127.0.0.1 in dev
    assert "auditor" in b.text("/console/")
    r = b.post("/console/sign-out")
    assert r.status_code == 302
    assert b.get("/console/journal").status_code == 302


def test_the_cookie_is_secure_when_configured(world, tmp_path):
    from dataclasses import replace

    from app import create_app

    settings = replace(world.app.extensions["ecny"]["settings"], secure_cookie=True)
    app = create_app({"TESTING": True, "SETTINGS": settings, "DATABASE": world.db})
    r = app.test_client().get("/console/sign-in")
    assert "Secure" in r.headers["Set-Cookie"]
    # The secret is the one kept next to the signing key, made once.
    assert app.secret_key == world.app.secret_key
    assert (settings.signing_key_path.parent / "console-secret-key").stat().st_mode & 0o077 == 0


def test_only_our_own_pages_after_sign_in(world, browser):
    b = browser(world)
    b.csrf = b.token()
    r = b.client.post(
        "/console/sign-in?next=//evil.example/x",
        data={"api_key": world.keys["admin"], "csrf_token": b.csrf},
    )
    assert r.headers["Location"] == "/console/"


def test_a_revoked_key_is_signed_out(world, browser):
    b = browser(world, "auditor")
    assert b.get("/console/journal").status_code == 200
    with world.db.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP WHERE role = 'auditor'"
        )
    assert b.get("/console/journal").status_code == 302


def test_forms_without_their_csrf_token_are_refused(world, browser):
    b = browser(world, "central_bank")
    r = b.post("/console/settlement/close", csrf=False)
    assert r.status_code == 400 and "security token" in r.get_data(as_text=True)
    r = b.client.post("/console/settlement/close", data={"csrf_token": "forged"})
    assert r.status_code == 400
    # Nothing was closed.
    assert world.ok("GET", "/v1/settlement/windows")["items"][0]["status"] == "OPEN"
    # Sign-in too: no signing a victim in to the attacker's key.
    fresh = browser(world)
    r = fresh.client.post("/console/sign-in", data={"api_key": world.keys["admin"]})
    assert r.status_code == 400


def test_each_role_sees_its_pages_and_no_other(world, browser):
    for role, sees in SEES.items():
        b = browser(world, role)
        home = b.text("/console/")
        for name, path in PAGES.items():
            r = b.get(path)
            if name in sees:
                assert r.status_code == 200, (role, name, r.get_data(as_text=True)[:300])
                assert f'href="{path}"' in home, (role, name)
            else:
                assert r.status_code == 403, (role, name)
                assert f'href="{path}"' not in home, (role, name)


def test_the_central_bank_sees_figures_and_closes_the_window(world, browser):
    b = browser(world, "central_bank")
    page = b.text("/console/operators")
    assert "BOCMO" in page and "ICBC" in page and "<svg" in page and "CNY 1,234.56" in page
    page = b.text("/console/settlement")
    assert "Open window 1" in page and "CNY -1,234.56" in page
    r = b.post("/console/settlement/close")
    assert r.status_code == 302
    page = b.text("/console/settlement")
    assert "The window is closed and settled." in page and "Open window 2" in page
    report = b.text("/console/settlement/windows/1")
    assert "CNY 1,234.56" in report and "ICBC" in report
    # The positions over time, summed from the journal: the close moved them at
    # the last instant, the one of the API's figures now.
    page = b.text("/console/operators")
    for code in ("ICBC", "BOCMO"):
        position = world.ok("GET", f"/v1/operators/{code}")["position"]
        series = re.search(rf'data-series="{code} position">(.*?)</g>', page, re.S).group(1)
        points = re.findall(r'data-value="([^"]+)"', series)
        assert len(points) == 25 and points[-1] == position, code
        assert points[-2] == {"ICBC": "4000000.00", "BOCMO": "6000000.00"}[code]
        assert points[0] == {"ICBC": "3000000.00", "BOCMO": "6000000.00"}[code]
    assert position == "6001234.56"  # BOCMO received the window's net
    # The windows on the timeline: the first settled, the second open.
    page = b.text("/console/settlement")
    assert re.search(r'data-row="Window 1">.*?class="span settled"', page, re.S)
    assert re.search(r'data-row="Window 2">.*?class="span open"', page, re.S)
    # The central bank sees positions, not holders, and no casino alert.
    assert "minimal_play" not in b.text("/console/alerts")
    # The action is in the audit log, like an API call.
    events = world.db.read(list_events, EventFilters(path_prefix="/console/"), after=None, limit=10)
    assert [(e.method, e.path, e.role, e.outcome, e.resource) for e in events] == [
        ("POST", "/console/settlement/close", "central_bank", "succeeded", "1")
    ]


def test_a_supervisor_works_its_alerts(world, browser):
    alert = world.world["alert"]
    b = browser(world, "supervisor")
    page = b.text("/console/alerts")
    assert f'id="alert-{alert}"' in page and "minimal_play" in page and "OVERDUE" not in page
    assert "1,234.56" not in b.text("/console/gaming-days")  # no interbank figures
    b.post(f"/console/alerts/{alert}/dismiss", {"note": ""})
    assert "invalid_alert_transition" in b.text("/console/alerts")
    b.post(f"/console/alerts/{alert}/acknowledge")
    assert f"Alert {alert} acknowledged." in b.text("/console/alerts?status=acknowledged")
    b.post(f"/console/alerts/{alert}/dismiss", {"note": ""})
    assert "a dismissal needs its reason" in b.text("/console/alerts")
    b.post(f"/console/alerts/{alert}/dismiss", {"note": "a regular, known to staff"})
    assert world.ok("GET", f"/v1/alerts/{alert}")["status"] == "dismissed"
    page = b.text(f"/console/casinos/COTAI/players/{world.world['player']}")
    assert "buy-in" in page and f"alert {alert}" in page
    assert "h-excluded" in b.text("/console/exclusions")
    days = b.text("/console/gaming-days")
    assert "Gaming day 2026-03-02" in days and "ecny_receipts_match" in days
    # Another casino's player is not found.
    b.text("/console/casinos/LISBOA/players/1", status=404)


def test_overdue_alerts_are_marked(world, browser):
    world.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 3 * 86400}, status=200)
    page = browser(world, "supervisor").text("/console/alerts?overdue=yes")
    assert 'class="overdue"' in page and "OVERDUE" in page


def test_an_auditor_browses_the_journal_and_exports(world, browser):
    b = browser(world, "auditor")
    page = b.text(f"/console/journal?wallet={world.world['payer']}")
    assert "CNY 1,234.56" in page and "Next transfers" not in page
    first = b.text("/console/journal?limit=3")
    assert "Next transfers" in first and first.count('<th scope="row">') == 3
    assert "/console/journal?after=3&wallet=&operator=&limit=3" in first.replace("&amp;", "&")
    second = b.text("/console/journal?after=3&limit=3")
    assert '<th scope="row">4</th>' in second and '<th scope="row">3</th>' not in second
    audit = b.text("/console/audit")
    assert "all invariants hold" in audit and "head_hash" in audit
    r = b.post("/console/audit/exports", {"operator": "ICBC"})
    assert r.status_code == 302
    job = wait_for_export(world, 1)
    assert job["status"] == "succeeded"
    page = b.text("/console/audit")
    assert "/console/audit/exports/1/files/manifest.json" in page
    r = b.get("/console/audit/exports/1/files/manifest.json")
    assert r.status_code == 200 and "files" in r.get_json()
    # What the page's script polls, and the one-click archive.
    progress = b.get("/console/audit/exports/1/progress").get_json()
    assert (progress["status"], progress["percent"]) == ("succeeded", 100)
    assert progress["archive"] == "/console/audit/exports/1/archive"
    r = b.get(progress["archive"])
    assert r.status_code == 200 and r.mimetype == "application/gzip"
    assert r.headers["Content-Disposition"] == 'attachment; filename="export-job-1.tar.gz"'
    # A running job's progress is its stages' share done (journal, then statements).
    with world.db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE export_jobs SET status = 'running' WHERE id = 1")
    state = world.app.extensions["ecny"]["settings"].export_dir / "job-1.progress.json"
    for stage, done, total, percent in (("journal", 5, 10, 25), ("statements", 1, 4, 62)):
        state.write_text(f'{{"stage": "{stage}", "done": {done}, "total": {total}}}')
        progress = b.get("/console/audit/exports/1/progress").get_json()
        assert (progress["percent"], progress["stage"], progress["archive"]) == (
            percent,
            stage,
            None,
        )
    assert b.post("/console/alerts/1/acknowledge").status_code == 403
    refused = world.db.read(
        list_events, EventFilters(path_prefix="/console/alerts"), after=None, limit=10
    )
    assert [(e.role, e.status, e.outcome, e.error_code) for e in refused] == [
        ("auditor", 403, "refused", "forbidden")
    ]


def test_the_admin_moves_the_clock_and_sees_wallet_limits(world, browser):
    b = browser(world, "admin")
    page = b.text("/console/wallets")
    assert "Used today" in page and "200,000.00" not in page  # the player paid the cage
    b.post("/console/clock/set", {"now": "2026-03-05T09:00:00", "fixed": "on"})
    assert "2026-03-05 09:00:00" in b.text("/console/clock")
    b.post("/console/clock/advance", {"seconds": "3600"})
    assert "2026-03-05 10:00:00" in b.text("/console/clock")
    b.post("/console/clock/advance", {"seconds": "-5"})
    assert "positive number of seconds" in b.text("/console/clock")
    # Quick moves go through the API's clock use case.
    b.post("/console/clock/move", {"move": "hour"})
    assert world.ok("GET", "/v1/sandbox/clock")["local_now"].startswith("2026-03-05T11:00:00")
    b.post("/console/clock/move", {"move": "gaming_day"})  # the macau profile's 06:00
    assert world.ok("GET", "/v1/sandbox/clock")["local_now"].startswith("2026-03-06T06:00:00")
    b.post("/console/clock/move", {"move": "cutoff"})  # deferred net, but no daily cut-off
    page = b.text("/console/clock")
    assert "validation_failed: no &#39;cutoff&#39; move in this sandbox" in page
    assert '<button type="submit" disabled>Next cut-off</button>' in page
    # A wallet's page: its limits as gauges; another operator's wallet is not found.
    page = b.text(f"/console/wallets/{world.world['payer']}")
    assert 'id="limit-today"' in page and 'data-used="0.00"' in page
    icbc = browser(world, "ICBC")
    icbc.text(f"/console/wallets/{world.world['payee']}", status=404)


def wait_for_export(sb, job_id: int) -> dict:
    for _ in range(200):
        job = sb.ok("GET", f"/v1/audit/exports/{job_id}")
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"export job {job_id} did not finish")


def test_pages_load_nothing_from_elsewhere(world, browser):
    """No CDN: every stylesheet, script and image is the console's own."""
    b = browser(world, "admin")
    for path in [*PAGES.values(), "/console/", "/console/sign-in"]:
        page = b.text(path) if path != "/console/sign-in" else b.text("/console/")
        assets = re.findall(r'<(?:link|script|img)[^>]+(?:src|href)="([^"]+)"', page)
        assert assets and all(a.startswith("/console/static/") for a in assets), (path, assets)
    assert b.get("/console/static/console.css").status_code == 200


def test_every_page_draws_on_an_empty_sandbox(sandbox, browser):
    """No journal, no operator, no casino: the charts say so instead of failing."""
    b = browser(sandbox, "admin")
    for path in PAGES.values():
        b.text(path)
    assert "no data" in b.text("/console/operators")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_endpoints_deliveries_and_their_redelivery(world, browser):
    from wallets.events import dispatch

    ep = world.ok(
        "POST",
        "/v1/webhook-endpoints",
        key="supervisor",
        json={"url": "http://127.0.0.1:9/case-tool", "description": "case tool"},
    )
    world.ok("POST", f"/v1/alerts/{world.world['alert']}/acknowledge", key="supervisor", status=200)
    # One round: nothing listens on port 9, so the attempt fails and is logged.
    assert dispatch.run_once(world.db, dispatch.Policy(timeout_seconds=1.0)) == 1
    b = browser(world, "supervisor")
    listed = b.text("/console/webhooks")
    assert f'id="endpoint-{ep["id"]}"' in listed and "http://127.0.0.1:9/case-tool" in listed
    page = b.text(f"/console/webhooks/{ep['id']}")
    (delivery,) = world.ok("GET", f"/v1/webhook-endpoints/{ep['id']}/deliveries", key="supervisor")[
        "items"
    ]
    assert f'id="delivery-{delivery["id"]}"' in page and "alert.acknowledged" in page
    assert "ConnectionError" in page and "pending" in page
    b.post(f"/console/webhooks/{ep['id']}/deliveries/{delivery['id']}/redeliver")
    assert "queued again" in b.text(f"/console/webhooks/{ep['id']}")
    log = world.ok("GET", f"/v1/webhook-endpoints/{ep['id']}/deliveries", key="supervisor")["items"]
    assert [d["manual"] for d in log] == [False, True]
    # Another scope's key finds no such endpoint; the auditor cannot redeliver.
    browser(world, "merchant").text(f"/console/webhooks/{ep['id']}", status=404)
    auditor = browser(world, "auditor")
    assert (
        auditor.post(
            f"/console/webhooks/{ep['id']}/deliveries/{delivery['id']}/redeliver"
        ).status_code
        == 403
    )


def test_an_hkd_casinos_gaming_day_shows_its_figures_in_hkd_and_its_fx_result(sandbox, browser):
    from macau_world import DAY, advance, cage, macau_world

    sb = sandbox
    macau_world(sb, chip_currency="HKD")
    p = sb.wallet("BOCMO", 1, fund="20000.00", region="MO", holder_id="h-hkd")
    cage(sb, "buy-ins", p, amount="10000.00")  # HKD 10,679.61
    cage(sb, "plays", p, wager="3000.00")
    cage(sb, "cash-outs", p, amount="7679.61")  # CNY 7,190.90
    advance(sb, 21 * 3600)
    sb.ok("POST", f"/v1/casinos/COTAI/gaming-days/{DAY}/close", key="supervisor")
    days = browser(sb, "supervisor").text("/console/gaming-days")
    assert "GGR HKD 3,000.00 (CNY 2,809.09; FX result CNY 0.01), tax CNY 983.18" in days
    assert "HKD 10,679.61" in days and "HKD 7,679.61" in days
