"""Input that must never reach the database as it came (issue 14, items 3, 5, 6, 7):
NUL characters, ids past their column, ids in other scripts' digits, instants
past the calendar in UTC, unknown query parameters. On both backends: PostgreSQL
refuses what SQLite stores, and a 500 there is the failure these tests catch."""

from __future__ import annotations

import re

import pytest

from app.cli import main as cli_main

# ---- item 5: a NUL in any text parameter or field ---------------------------

NUL_PATHS = [
    ("GET", "/v1/operators/%00", 404, None),
    ("GET", "/v1/casinos/%00", 404, None),
    ("GET", "/v1/casinos/%00/transactions", 404, None),
    ("GET", "/v1/alerts?casino=%00", 422, "casino"),
    ("GET", "/v1/audit/events?path_prefix=%00", 422, "path_prefix"),
    ("GET", "/v1/operators?after=B%00", 422, "after"),
    ("GET", "/v1/casinos?after=B%00", 422, "after"),
    ("GET", "/v1/wallets?operator=IC%00BC", 422, "operator"),
    ("GET", "/v1/exclusions?holder_id=a%00", 422, "holder_id"),
]


@pytest.mark.parametrize(("method", "path", "status", "field"), NUL_PATHS)
def test_a_nul_in_a_parameter_is_refused_never_a_500(sandbox, method, path, status, field):
    r = sandbox.call(method, path)
    assert r.status_code == status, r.get_data(as_text=True)
    body = r.get_json()
    if field:
        assert body["code"] == "validation_failed" and field in body["errors"], body


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/audit/exports", {"operator": "IC\u0000BC"}, "operator"),
        ("/v1/keys", {"role": "operator", "operator": "IC\u0000BC"}, "operator"),
        ("/v1/keys", {"role": "merchant", "casino": "CO\u0000TAI"}, "casino"),
        ("/v1/sandbox/profile", {"name": "ma\u0000cau"}, "name"),
    ],
)
def test_a_nul_in_a_body_field_is_refused_naming_it(sandbox, path, body, field):
    r = sandbox.call("POST" if "profile" not in path else "PUT", path, json=body)
    assert r.status_code == 422, r.get_data(as_text=True)
    assert field in r.get_json()["errors"]


# ---- item 6: ids past their column ------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "field"),
    [
        ("GET", "/v1/audit/exports/2147483648", 404, None),
        ("GET", "/v1/audit/exports/2147483648/files/manifest.json", 404, None),
        ("POST", "/v1/keys/2147483648/revoke", 404, None),
        ("POST", "/v1/exclusions/2147483648/revoke", 404, None),
        ("GET", "/v1/exclusions?after=2147483648", 422, "after"),
        ("GET", "/v1/keys?after=2147483648", 422, "after"),
        ("GET", "/v1/audit/exports?after=2147483648", 422, "after"),
        ("GET", "/v1/audit/checkpoints?after=2147483648", 422, "after"),
        ("GET", "/v1/audit/exports/2147483648/archive", 404, None),
        ("GET", "/v1/audit/events?key_id=2147483648", 422, "key_id"),
        ("GET", "/v1/wallets/9007199254740993", 404, None),
        ("GET", "/v1/transfers?wallet=9007199254740993", 422, "wallet"),
        ("PUT", "/v1/operators/ICBC/limits/5", 404, None),
    ],
)
def test_an_id_past_its_column_names_nothing(sandbox, method, path, status, field):
    r = sandbox.call(method, path, json={} if method != "GET" else None)
    assert r.status_code == status, r.get_data(as_text=True)
    if field:
        assert field in r.get_json()["errors"]


def test_the_largest_32_bit_ids_are_taken(sandbox):
    assert sandbox.get("/v1/audit/exports/2147483647").status_code == 404
    assert sandbox.get("/v1/exclusions?after=2147483647").get_json()["items"] == []
    assert sandbox.get("/v1/audit/events?key_id=2147483647").get_json()["items"] == []
    r = sandbox.post("/v1/casinos", json={"supervisors": [2147483648]})
    assert r.status_code == 422 and "supervisors" in str(r.get_json()["errors"])


def test_the_document_bounds_every_path_id_by_its_column(sandbox):
    doc = sandbox.get("/openapi.json").get_json()
    bounds = {}
    for path, item in doc["paths"].items():
        for p in item.get("parameters", []):
            if p["schema"].get("type") == "integer":
                bounds[(path, p["name"])] = (p["schema"]["minimum"], p["schema"]["maximum"])
    assert bounds[("/v1/audit/exports/{job_id}", "job_id")] == (1, 2**31 - 1)
    assert bounds[("/v1/keys/{key_id}/revoke", "key_id")] == (1, 2**31 - 1)
    assert bounds[("/v1/exclusions/{exclusion_id}/revoke", "exclusion_id")] == (1, 2**31 - 1)
    assert bounds[("/v1/wallets/{wallet_id}", "wallet_id")] == (1, 2**53)
    assert all(lo == 1 and hi <= 2**53 for lo, hi in bounds.values()), bounds


# ---- item 3b: ids are ASCII digits ---------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v1/wallets/%D9%A1/fund", 404),  # Arabic-Indic one
        ("GET", "/v1/wallets/%EF%BC%91", 404),  # fullwidth one
        ("GET", "/v1/transfers/%E0%A5%A7", 404),  # Devanagari one
        ("GET", "/v1/transfers?wallet=%D9%A1", 422),
        ("GET", "/v1/audit/events?key_id=%D9%A1", 422),
        ("GET", "/v1/alerts?wallet=1_0", 422),
        ("GET", "/v1/holds?wallet=%201", 422),
        ("GET", "/v1/wallets?after=%D9%A1", 422),
    ],
)
def test_ids_are_ascii_digits_only(demo, method, path, status):
    before = demo.balance(1)
    key = "ICBC" if method == "POST" else "admin"
    r = demo.call(method, path, json={"amount": "1.00"} if method == "POST" else None, key=key)
    assert r.status_code == status, r.get_data(as_text=True)
    assert demo.balance(1) == before


# ---- item 7: instants past the calendar in UTC ----------------------------------

LATE = "9999-12-31T23:59:59-14:00"
EARLY = "0001-01-01T00:00:00+14:00"


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("GET", f"/v1/wallets/1/statement?to={LATE}", None, "to"),
        ("GET", f"/v1/wallets/1/statement?from={EARLY}", None, "from"),
        ("GET", f"/v1/audit/events?from={EARLY}", None, "from"),
        ("GET", f"/v1/audit/events?to={LATE}", None, "to"),
        ("POST", "/v1/audit/exports", {"from": EARLY}, "from"),
        ("POST", "/v1/audit/exports", {"to": LATE}, "to"),
        ("PUT", "/v1/sandbox/clock", {"now": LATE}, "now"),
        ("PUT", "/v1/sandbox/clock", {"now": EARLY}, "now"),
        ("PUT", "/v1/sandbox/clock", {"now": "9500-01-01T00:00:00Z"}, "now"),
        ("PUT", "/v1/sandbox/clock", {"now": "1969-12-31T23:59:59Z"}, "now"),
    ],
)
def test_an_instant_past_the_calendar_in_utc_is_refused(demo, method, path, body, field):
    path = path.replace("+", "%2B")
    r = demo.call(method, path, json=body)
    assert r.status_code == 422, r.get_data(as_text=True)
    assert r.get_json()["code"] == "validation_failed"
    assert field in r.get_json()["errors"], r.get_json()


def test_the_clock_does_not_advance_past_its_range(sandbox):
    sandbox.ok("PUT", "/v1/sandbox/clock", json={"now": "8999-12-31T00:00:00Z"}, status=200)
    r = sandbox.post("/v1/sandbox/clock/advance", json={"seconds": 10 * 366 * 86400})
    assert r.status_code == 422 and "seconds" in r.get_json()["errors"]
    assert sandbox.get("/v1/sandbox/clock").get_json()["now"].startswith("8999-12-31")


def test_instants_at_the_edges_are_taken(demo):
    ok = "/v1/wallets/1/statement?from=0001-01-02T00:00:00Z&to=9999-12-30T23:00:00-00:30"
    assert demo.get(ok).status_code == 200


# ---- item 3a: every write with a valid key is recorded -----------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/operators/%00/issuances",
        "/v1/wallets/1%00/fund",
        "/v1/casinos/A%00B/buy-ins",
        "/v1/alerts/%00/acknowledge",
        "/v1/%00",
        "/v1/keys/1/revoke%00",
    ],
)
def test_a_write_whose_path_holds_a_nul_is_recorded(demo, path, caplog):
    r = demo.post(path, json={"amount": "1.00"}, key="central_bank")
    assert r.status_code in (404, 405), r.get_data(as_text=True)
    assert "could not record" not in caplog.text
    events = demo.get("/v1/audit/events?limit=500").get_json()["items"]
    last = events[-1]
    assert last["path"] == path.replace("%00", "\ufffd")
    assert last["status"] == r.status_code and last["outcome"] == "refused"
    # Found by its path as recorded.
    prefix = path.split("%00")[0] + "\ufffd"
    found = demo.get("/v1/audit/events", query_string={"path_prefix": prefix}).get_json()
    assert found["items"][-1]["id"] == last["id"]


# ---- item 3e: the audit log's time range -----------------------------------------


def test_audit_events_by_sandbox_time_from_inclusive_to_exclusive(sandbox):
    def at(when: str) -> None:
        sandbox.ok("PUT", "/v1/sandbox/clock", json={"now": when}, status=200)

    at("2026-01-01T00:00:00Z")
    at("2026-01-02T00:00:00Z")
    at("2026-01-03T00:00:00Z")
    # Each PUT is recorded at the sandbox time of its own transaction's start.
    events = sandbox.get("/v1/audit/events").get_json()["items"]
    times = [e["at"] for e in events]
    assert len(times) == 3

    def between(q: str) -> list[str]:
        got = sandbox.get("/v1/audit/events?" + q.replace("+", "%2B")).get_json()["items"]
        return [e["at"] for e in got]

    assert between(f"from={times[1]}") == times[1:]
    assert between(f"to={times[1]}") == times[:1]
    assert between(f"from={times[0]}&to={times[2]}") == times[:2]
    r = sandbox.get("/v1/audit/events?from=yesterday")
    assert r.status_code == 422 and "from" in r.get_json()["errors"]
    r = sandbox.get("/v1/audit/events?from=2026-01-01T00:00:00")  # no offset
    assert r.status_code == 422 and "from" in r.get_json()["errors"]


# ---- item 3f: unknown query parameters ------------------------------------------


def _list_operations(doc: dict) -> list[str]:
    out = []
    for path, item in doc["paths"].items():
        op = item.get("get")
        if op and any(p["in"] == "query" for p in op.get("parameters", [])):
            out.append(path)
    return out


def test_every_list_endpoint_refuses_an_unknown_parameter(demo):
    demo.keys["supervisor"] = demo.key("supervisor", casino_ref="COTAI")
    doc = demo.get("/openapi.json").get_json()
    lists = _list_operations(doc)
    # Every operation answering a page takes query parameters, so is checked.
    pages = [
        path
        for path, item in doc["paths"].items()
        if "get" in item and "Page" in str(item["get"]["responses"].get("200", {}).get("content"))
    ]
    assert set(pages) <= set(lists) and len(pages) >= 12, (pages, lists)
    for path in lists:
        assert "400" in doc["paths"][path]["get"]["responses"], path
        concrete = re.sub(r"\{[a-z_]*date[a-z_]*\}|\{gaming_day\}", "2026-01-01", path)
        concrete = re.sub(r"\{(code)\}", "ICBC", concrete)
        concrete = re.sub(r"\{(ref)\}", "COTAI", concrete)
        concrete = re.sub(r"\{[a-z_]+\}", "1", concrete)
        r = demo.get(concrete + "?kye_id=5")
        assert r.status_code == 400, (path, r.get_data(as_text=True))
        body = r.get_json()
        assert body["code"] == "unknown_parameter" and body["parameters"] == ["kye_id"], body
        assert "kye_id" in body["detail"]


def test_audit_events_no_longer_ignore_a_misspelt_filter(sandbox):
    sandbox.post("/v1/keys", json={"role": "auditor"})
    r = sandbox.get("/v1/audit/events?kye_id=5")
    assert r.status_code == 400 and r.get_json()["code"] == "unknown_parameter"


# ---- item 3d: GET /v1/keys ------------------------------------------------------


def test_keys_are_listed_for_the_admin_and_the_auditor_never_their_secret(sandbox):
    sandbox.operator("ICBC")
    made = sandbox.ok("POST", "/v1/keys", json={"role": "operator", "operator": "ICBC"})
    sandbox.ok("POST", f"/v1/keys/{made['id']}/revoke", status=200)
    page = sandbox.ok("GET", "/v1/keys?limit=2", status=200)
    assert [k["id"] for k in page["items"]] == [1, 2] and page["next_after"] == "2"
    rest = sandbox.ok("GET", "/v1/keys?after=2", status=200)["items"]
    by_id = {k["id"]: k for k in page["items"] + rest}
    assert by_id[made["id"]]["role"] == "operator"
    assert by_id[made["id"]]["operator"] == "ICBC"
    assert by_id[made["id"]]["revoked_at"] is not None and by_id[1]["revoked_at"] is None
    assert all(k["created_at"] for k in by_id.values())
    text = str(page) + str(rest)
    assert "ecny_" not in text and "hash" not in text
    assert set(by_id[1]) == {
        "id",
        "role",
        "operator",
        "casino",
        "label",
        "created_at",
        "revoked_at",
    }
    # The auditor, read-only over everything, reads the same list.
    assert sandbox.ok("GET", "/v1/keys?limit=2", key="auditor")["items"] == page["items"]
    for role in ("central_bank", "ICBC"):
        assert sandbox.get("/v1/keys", key=role).status_code == 403


# ---- item 3c: CLI writes are audited -------------------------------------------------


def test_cli_writes_are_in_the_audit_log_as_cli(sandbox, database_url, monkeypatch):
    from click.testing import CliRunner

    monkeypatch.setenv("DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(cli_main, list(args))
        assert result.exit_code == code, result.output + repr(result.exception)
        return result.output

    secret = run("keys", "create", "--role", "auditor", "--label", "Ms Wong").strip()
    run("keys", "create", "--role", "operator", code=1)  # refused: needs its operator
    new_id = sandbox.get("/v1/keys").get_json()["items"][-1]["id"]
    run("keys", "revoke", str(new_id))
    run("sandbox", "profile", "macau")
    run("sandbox", "settlement", "--model", "deferred_net")
    run("sandbox", "reserve-ratio", "0.5")
    events = sandbox.get("/v1/audit/events?method=CLI").get_json()["items"]
    assert [(e["path"], e["outcome"]) for e in events] == [
        ("ecny keys create", "succeeded"),
        ("ecny keys create", "refused"),
        (f"ecny keys revoke {new_id}", "succeeded"),
        ("ecny sandbox profile", "succeeded"),
        ("ecny sandbox settlement", "succeeded"),
        ("ecny sandbox reserve-ratio", "succeeded"),
    ]
    assert all(e["role"] == "cli" and e["api_key_id"] is None for e in events)
    assert events[0]["resource"] == str(new_id)
    assert events[1]["error_code"] == "validation_failed"
    # No secret and no personal label in the log.
    assert secret not in str(events) and "Wong" not in str(events)
    assert '"role":"auditor"' in events[0]["summary"]


def test_cli_seed_demo_is_in_the_audit_log(database_url, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from tests.conftest import make_sandbox

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ECNY_SIGNING_KEY", str(tmp_path / "k.pem"))
    result = CliRunner().invoke(cli_main, ["seed", "demo"])
    assert result.exit_code == 0, result.output
    sb = make_sandbox(database_url, tmp_path)
    try:
        events = sb.get("/v1/audit/events").get_json()["items"]
        assert [(e["method"], e["path"], e["role"]) for e in events] == [
            ("CLI", "ecny seed demo", "cli")
        ]
    finally:
        sb.db.dispose()


def test_a_nul_inside_a_profile_document_is_refused_or_kept_escaped(sandbox):
    document = sandbox.get("/v1/rules").get_json()["document"]
    for change in ({"name": "mine\u0000"}, {"description": "a\u0000b"}):
        r = sandbox.call("PUT", "/v1/sandbox/profile", json={"document": {**document, **change}})
        assert r.status_code in (200, 422), r.get_data(as_text=True)
