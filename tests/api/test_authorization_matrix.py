"""The authorization matrix of docs/security.md, one row per endpoint.

Columns are callers: the admin, the central bank, the auditor, an operator
(own: BOCMO, whose wallets and transfers the paths name; other: ICBC), a
merchant (own casino COTAI; other: LISBOA) and a supervisor (own: COTAI;
other: LISBOA). Cells:

- ``ok``: allowed, and the resource is in scope: never 401, 403 or 5xx, and
  never the scope's 404 (a GET answers 200);
- ``403``: the role may never call it (``forbidden_role``);
- ``404``: the role may, but the resource is outside the caller's scope.

The rows come from app.url_map: a new endpoint without a row fails the test.
"""

from __future__ import annotations

import pytest
from macau_world import DAY, cage, macau_world

from wallets import errors

COLUMNS = ("admin", "cb", "auditor", "op", "op_other", "mer", "mer_other", "sup", "sup_other")

# endpoint: cells in COLUMNS order
MATRIX = {
    "POST /v1/operators": "ok ok 403 403 403 403 403 403 403",
    "GET /v1/operators": "ok ok ok ok ok 403 403 403 403",
    "GET /v1/operators/<code>": "ok ok ok ok 404 403 403 403 403",
    "POST /v1/operators/<code>/reserve-deposits": "ok ok 403 403 403 403 403 403 403",
    "POST /v1/operators/<code>/issuances": "ok ok 403 ok 404 403 403 403 403",
    "POST /v1/operators/<code>/redemptions": "ok ok 403 ok 404 403 403 403 403",
    "GET /v1/operators/<code>/limits": "ok ok ok ok 404 403 403 403 403",
    "PUT /v1/operators/<code>/limits/<int:wallet_class>": "ok 403 403 ok 404 403 403 403 403",
    "POST /v1/wallets": "ok 403 403 ok ok 403 403 403 403",
    "GET /v1/wallets": "ok 403 ok ok ok 403 403 403 403",
    "GET /v1/wallets/<int:wallet_id>": "ok 403 ok ok 404 403 403 403 403",
    "PATCH /v1/wallets/<int:wallet_id>": "ok 403 403 ok 404 403 403 403 403",
    "GET /v1/wallets/<int:wallet_id>/balance": "ok 403 ok ok 404 403 403 403 403",
    "GET /v1/wallets/<int:wallet_id>/limits": "ok 403 ok ok 404 403 403 403 403",
    "GET /v1/wallets/<int:wallet_id>/statement": "ok 403 ok ok 404 403 403 403 403",
    "POST /v1/wallets/<int:wallet_id>/fund": "ok 403 403 ok 404 403 403 403 403",
    "POST /v1/wallets/<int:wallet_id>/defund": "ok 403 403 ok 404 403 403 403 403",
    "POST /v1/wallets/<int:wallet_id>/freeze": "ok 403 403 ok 404 403 403 ok 404",
    "POST /v1/wallets/<int:wallet_id>/unfreeze": "ok 403 403 ok 404 403 403 403 403",
    "POST /v1/wallets/<int:wallet_id>/close": "ok 403 403 ok 404 403 403 403 403",
    "POST /v1/wallets/<int:wallet_id>/sweep": "ok 403 403 ok 404 403 403 403 403",
    "POST /v1/transfers": "ok 403 403 ok 404 403 403 403 403",
    "POST /v1/transfers/batch": "ok 403 403 ok ok 403 403 403 403",
    "GET /v1/transfers": "ok 403 ok ok ok 403 403 403 403",
    "GET /v1/transfers/<int:transfer_id>": "ok 403 ok ok 404 403 403 403 403",
    "POST /v1/transfers/<int:transfer_id>/refunds": "ok 403 403 ok 404 403 403 403 403",
    "POST /v1/holds": "ok 403 403 ok 404 403 403 403 403",
    "GET /v1/holds": "ok 403 ok ok 404 403 403 403 403",  # ?wallet= names BOCMO's
    "GET /v1/holds/<int:hold_id>": "ok 403 ok ok 404 403 403 403 403",
    "POST /v1/holds/<int:hold_id>/capture": "ok 403 403 ok 404 403 403 403 403",
    "POST /v1/holds/<int:hold_id>/void": "ok 403 403 ok 404 403 403 403 403",
    "GET /v1/settlement/settings": "ok ok ok ok ok 403 403 403 403",
    "PUT /v1/settlement/settings": "ok ok 403 403 403 403 403 403 403",
    "PUT /v1/settlement/operators/<code>/net-debit-cap": "ok ok 403 403 403 403 403 403 403",
    "GET /v1/settlement/windows": "ok ok ok 403 403 403 403 403 403",
    "GET /v1/settlement/windows/current": "ok ok ok 403 403 403 403 403 403",
    "POST /v1/settlement/windows/current/close": "ok ok 403 403 403 403 403 403 403",
    "GET /v1/settlement/windows/<int:window_id>": "ok ok ok 403 403 403 403 403 403",
    "GET /v1/settlement/windows/<int:window_id>/report": "ok ok ok 403 403 403 403 403 403",
    "GET /v1/audit/reconciliation": "ok ok ok 403 403 403 403 403 403",
    "GET /v1/audit/digest": "ok ok ok 403 403 403 403 403 403",
    "POST /v1/audit/exports": "ok 403 ok 403 403 403 403 403 403",
    "GET /v1/audit/exports/<int:job_id>": "ok 403 ok 403 403 403 403 403 403",
    "GET /v1/audit/exports/<int:job_id>/files/<path:name>": "ok 403 ok 403 403 403 403 403 403",
    "GET /v1/audit/events": "ok 403 ok 403 403 403 403 403 403",
    "GET /v1/rules": "ok ok ok ok ok ok ok ok ok",
    "PUT /v1/sandbox/profile": "ok 403 403 403 403 403 403 403 403",
    "GET /v1/sandbox/clock": "ok ok ok ok ok ok ok ok ok",
    "PUT /v1/sandbox/clock": "ok 403 403 403 403 403 403 403 403",
    "POST /v1/sandbox/clock/advance": "ok 403 403 403 403 403 403 403 403",
    "POST /v1/keys": "ok 403 403 403 403 403 403 403 403",
    "POST /v1/keys/<int:key_id>/revoke": "ok 403 403 403 403 403 403 403 403",
    "POST /v1/casinos": "ok 403 403 403 403 403 403 403 403",
    "GET /v1/casinos": "ok 403 ok 403 403 ok ok ok ok",
    "GET /v1/casinos/<ref>": "ok 403 ok 403 403 ok 404 ok 404",
    "POST /v1/casinos/<ref>/buy-ins": "ok 403 403 403 403 ok 404 403 403",
    "POST /v1/casinos/<ref>/plays": "ok 403 403 403 403 ok 404 403 403",
    "POST /v1/casinos/<ref>/cash-outs": "ok 403 403 403 403 ok 404 403 403",
    "GET /v1/casinos/<ref>/transactions": "ok 403 ok 403 403 ok 404 ok 404",
    "GET /v1/casinos/<ref>/players": "ok 403 ok 403 403 ok 404 ok 404",
    "GET /v1/casinos/<ref>/gaming-days": "ok 403 ok 403 403 ok 404 ok 404",
    "GET /v1/casinos/<ref>/gaming-days/<gaming_day:date>": "ok 403 ok 403 403 ok 404 ok 404",
    "POST /v1/casinos/<ref>/gaming-days/<gaming_day:date>/close": (
        "ok 403 403 403 403 ok 404 ok 404"
    ),
    "GET /v1/alerts": "ok ok ok 403 403 ok ok ok ok",
    "GET /v1/alerts/<int:alert_id>": "ok 404 ok 403 403 ok 404 ok 404",
    "POST /v1/alerts/<int:alert_id>/acknowledge": "ok 404 403 403 403 403 403 ok 404",
    "POST /v1/alerts/<int:alert_id>/escalate": "ok 404 403 403 403 403 403 ok 404",
    "POST /v1/alerts/<int:alert_id>/dismiss": "ok 404 403 403 403 403 403 ok 404",
    "POST /v1/exclusions": "ok 403 403 403 403 403 403 ok 404",
    "GET /v1/exclusions": "ok 403 ok 403 403 403 403 ok ok",
    "POST /v1/exclusions/<int:exclusion_id>/revoke": "ok 403 403 403 403 403 403 ok 404",
}


def _endpoints(app) -> set[str]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/v1/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                found.add(f"{method} {rule.rule}")
    return found


def test_every_endpoint_has_a_row(sandbox):
    endpoints = _endpoints(sandbox.app)
    assert endpoints - MATRIX.keys() == set(), "endpoints without a row in the matrix"
    assert MATRIX.keys() - endpoints == set(), "rows for endpoints that do not exist"
    assert all(len(cells.split()) == len(COLUMNS) for cells in MATRIX.values())


@pytest.fixture
def world(sandbox):
    sb = sandbox
    w = macau_world(sb)
    sb.keys["op"], sb.keys["op_other"] = sb.keys["BOCMO"], sb.keys["ICBC"]
    sb.keys["cb"] = sb.keys["central_bank"]
    sb.keys["mer"], sb.keys["sup"] = sb.keys["merchant"], sb.keys["supervisor"]
    sb.keys["mer_other"] = sb.key("merchant", casino_ref="LISBOA")
    sb.keys["sup_other"] = sb.key("supervisor", casino_ref="LISBOA")
    player = sb.wallet("BOCMO", 1, fund="600000.00", region="MO")
    payee = sb.wallet("BOCMO", 1, region="MO")
    cage(sb, "buy-ins", player, amount="1000.00")
    alert = cage(sb, "buy-ins", player, amount="500000.00")["alerts"][0]["id"]
    pay = sb.ok(
        "POST",
        "/v1/transfers",
        key="op",
        json={"from_wallet": player, "to_wallet": payee, "amount": "10.00"},
    )
    hold = sb.ok(
        "POST",
        "/v1/holds",
        key="op",
        json={"from_wallet": player, "to_wallet": payee, "amount": "5.00"},
    )
    exclusion = sb.ok(
        "POST",
        "/v1/exclusions",
        key="sup",
        json={"holder_id": "P-1", "kind": "self", "ends_on": "2026-12-31", "casino": "COTAI"},
    )
    spare_key = sb.ok("POST", "/v1/keys", json={"role": "auditor"})["id"]
    w.update(
        player=player,
        payee=payee,
        alert=alert,
        transfer=pay["id"],
        hold=hold["id"],
        exclusion=exclusion["id"],
        key=spare_key,
    )
    return w


def _request(world, endpoint: str) -> tuple[str, str, dict | None]:
    method, rule = endpoint.split(" ")
    path = (
        rule.replace("<code>", "BOCMO")
        .replace("<int:wallet_class>", "1")
        .replace("<int:wallet_id>", str(world["player"]))
        .replace("<int:transfer_id>", str(world["transfer"]))
        .replace("<int:hold_id>", str(world["hold"]))
        .replace("<int:alert_id>", str(world["alert"]))
        .replace("<int:exclusion_id>", str(world["exclusion"]))
        .replace("<int:key_id>", str(world["key"]))
        .replace("<int:window_id>", "1")
        .replace("<int:job_id>", "1")
        .replace("<path:name>", "report.json")
        .replace("<ref>", "COTAI")
        .replace("<gaming_day:date>", DAY)
    )
    player, payee = world["player"], world["payee"]
    money = {"amount": "1.00"}
    bodies = {
        "/fund": money,
        "/defund": money,
        "/issuances": money,
        "/redemptions": money,
        "/refunds": money,
        "/capture": money,
        "/buy-ins": {"player": player, "amount": "1.00"},
        "/cash-outs": {"player": player, "amount": "1.00"},
        "/plays": {"player": player, "wager": "1.00"},
        "/dismiss": {"reason": "no case"},
        "/v1/transfers": {"from_wallet": player, "to_wallet": payee, "amount": "0.01"},
        "/v1/holds": {"from_wallet": player, "to_wallet": payee, "amount": "0.01"},
        "/v1/transfers/batch": {
            "transfers": [
                {"id": "m-1", "from_wallet": player, "to_wallet": payee, "amount": "0.01"}
            ]
        },
        "/v1/exclusions": {
            "holder_id": "P-2",
            "kind": "self",
            "ends_on": "2026-12-31",
            "casino": "COTAI",
        },
    }
    if path == "/v1/holds" and method == "GET":
        path += f"?wallet={player}"
    body = next((b for suffix, b in bodies.items() if path.endswith(suffix)), None)
    if body is None and method in ("PUT", "PATCH"):
        body = {}
    return method, path, body


# GETs of things the world does not hold (an export job, a settlement window
# under gross settlement, a closed gaming day): allowed, but not 200.
ABSENT = ("/exports/", "/windows/", "/gaming-days/")


def test_matrix(world, sandbox):
    wrong = []
    for endpoint in sorted(MATRIX):
        method, path, body = _request(world, endpoint)
        # Callers that may not act first, then the ones that do (their writes
        # may change what the next one finds, never whether it may act).
        cells = dict(zip(COLUMNS, MATRIX[endpoint].split(), strict=True))
        for column in sorted(COLUMNS, key=lambda c: cells[c] == "ok"):
            r = sandbox.call(method, path, column, json=body)
            got = r.get_json(silent=True) or {}
            status = r.status_code
            if cells[column] == "403":
                right = status == 403 and got.get("code") == errors.FORBIDDEN_ROLE
            elif cells[column] == "404":
                right = status == 404
            elif method == "GET" and not any(part in path for part in ABSENT):
                right = status == 200
            else:  # allowed, and in scope: any answer but the scope's 404
                absent = any(part in path for part in ABSENT)
                right = status < 500 and status not in (401, 403) and (status != 404 or absent)
            if not right:
                wrong.append(f"{column} {cells[column]}: {method} {path} -> {status} {got}")
    assert not wrong, "\n".join(wrong)
