"""The authorization matrix of docs/security.md, one row per endpoint.

Columns are callers: the admin, the central bank, the auditor, an operator
(own: BOCMO, whose wallets and transfers the paths name; other: ICBC), a
merchant (own casino COTAI; other: LISBOA) and a supervisor (own: COTAI;
other: LISBOA). Every call is a valid request (a write is sent a valid body,
BODIES), so that the answer is the role's and the scope's, never the body's.
Cells:

- ``ok``: allowed, and the resource is in scope. A GET answers 200 (or, for
  what the world does not hold, ABSENT, another 4xx than the scope's); a
  write answers 2xx, or is refused for a business reason only (a 409 or 422
  other than ``validation_failed``: the hold the caller before captured) —
  and in every write row at least one caller's call succeeds;
- ``403``: the role may never call it (``forbidden``);
- ``404``: the role may, but the resource is outside the caller's scope: the
  scope's own code (``wallet_not_found``, ``casino_not_found``, ...). A batch
  answers each item apart: its 404 is a 200 whose every item is refused so.

The rows come from app.url_map: a new endpoint without a row fails the test,
and so does a write that takes a body (per the OpenAPI document) without one
in BODIES.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from macau_world import DAY, advance, cage, macau_world, payment_code

from app.client import OfflineDevice
from app.errors import status_for
from wallets.core import errors
from wallets.events import dispatch

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
    "POST /v1/wallets": "ok 403 403 ok 404 403 403 403 403",
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
    "POST /v1/wallets/<int:wallet_id>/payment-codes": "ok 403 403 ok 404 403 403 403 403",
    "POST /v1/transfers": "ok 403 403 ok 404 403 403 403 403",
    "POST /v1/transfers/batch": "ok 403 403 ok 404 403 403 403 403",
    "GET /v1/transfers": "ok 403 ok ok ok 403 403 403 403",
    "GET /v1/transfers/<int:transfer_id>": "ok 403 ok ok 404 403 403 403 403",
    "POST /v1/transfers/<int:transfer_id>/refunds": "ok 403 403 ok 404 403 403 403 403",
    "POST /v1/holds": "ok 403 403 ok 404 403 403 403 403",
    "GET /v1/holds": "ok 403 ok ok 404 403 403 403 403",  # ?wallet= names BOCMO's
    "GET /v1/holds/<int:hold_id>": "ok 403 ok ok 404 403 403 403 403",
    "POST /v1/holds/<int:hold_id>/capture": "ok 403 403 ok 404 403 403 403 403",
    "POST /v1/holds/<int:hold_id>/void": "ok 403 403 ok 404 403 403 403 403",
    "POST /v1/holds/<int:hold_id>/confirm": "ok 403 403 ok 404 403 403 403 403",
    # Red envelopes: every operator sees the campaigns (any wallet may claim);
    # the report and the grants are the issuer's operator's (BOCMO's here).
    "POST /v1/envelope-campaigns": "ok 403 403 ok 404 403 403 403 403",
    "GET /v1/envelope-campaigns": "ok 403 ok ok ok 403 403 403 403",
    "GET /v1/envelope-campaigns/<int:campaign_id>": "ok 403 ok ok ok 403 403 403 403",
    "GET /v1/envelope-campaigns/<int:campaign_id>/report": "ok 403 ok ok 404 403 403 403 403",
    "POST /v1/envelope-campaigns/<int:campaign_id>/grants": "ok 403 403 ok 404 403 403 403 403",
    "POST /v1/envelope-campaigns/<int:campaign_id>/claims": "ok 403 403 ok 404 403 403 403 403",
    "GET /v1/wallets/<int:wallet_id>/envelopes": "ok 403 ok ok 404 403 403 403 403",
    "POST /v1/offline/purses": "ok 403 403 ok 404 403 403 403 403",
    "GET /v1/offline/purses": "ok 403 ok ok 404 403 403 403 403",  # ?wallet= names BOCMO's
    "GET /v1/offline/purses/<int:purse_id>": "ok 403 ok ok 404 403 403 403 403",
    "GET /v1/offline/purses/<int:purse_id>/vouchers": "ok 403 ok ok 404 403 403 403 403",
    "POST /v1/offline/purses/<int:purse_id>/loads": "ok 403 403 ok 404 403 403 403 403",
    "POST /v1/offline/purses/<int:purse_id>/unload": "ok 403 403 ok 404 403 403 403 403",
    # Each voucher answered apart: its 404 is a 200 whose every item is rejected so.
    "POST /v1/offline/sync": "ok 403 403 ok 404 403 403 403 403",
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
    "GET /v1/audit/exports/<id32:job_id>": "ok 403 ok 403 403 403 403 403 403",
    "GET /v1/audit/exports/<id32:job_id>/files/<path:name>": "ok 403 ok 403 403 403 403 403 403",
    "GET /v1/audit/exports/<id32:job_id>/archive": "ok 403 ok 403 403 403 403 403 403",
    "GET /v1/audit/exports": "ok 403 ok 403 403 403 403 403 403",
    "GET /v1/audit/checkpoints": "ok ok ok 403 403 403 403 403 403",
    "GET /v1/audit/events": "ok 403 ok 403 403 403 403 403 403",
    "GET /v1/rules": "ok ok ok ok ok ok ok ok ok",
    "PUT /v1/sandbox/profile": "ok 403 403 403 403 403 403 403 403",
    "GET /v1/sandbox/clock": "ok ok ok ok ok ok ok ok ok",
    "PUT /v1/sandbox/clock": "ok 403 403 403 403 403 403 403 403",
    "POST /v1/sandbox/clock/advance": "ok 403 403 403 403 403 403 403 403",
    # Run last (LAST): the admin's call wipes the world the other rows use.
    "POST /v1/sandbox/reset": "ok 403 403 403 403 403 403 403 403",
    "POST /v1/keys": "ok 403 403 403 403 403 403 403 403",
    "GET /v1/keys": "ok 403 ok 403 403 403 403 403 403",
    "POST /v1/keys/<id32:key_id>/revoke": "ok 403 403 403 403 403 403 403 403",
    "POST /v1/casinos": "ok 403 403 403 403 403 403 403 403",
    "GET /v1/casinos": "ok 403 ok 403 403 ok ok ok ok",
    "GET /v1/casinos/<ref>": "ok 403 ok 403 403 ok 404 ok 404",
    "PUT /v1/casinos/<ref>/chips-approval": "ok 403 403 403 403 403 403 ok 404",
    "POST /v1/casinos/<ref>/chip-handovers": "ok 403 403 403 403 ok 404 403 403",
    "PUT /v1/casinos/<ref>/credit-lines/<int:wallet_id>": "ok 403 403 403 403 ok 404 403 403",
    "GET /v1/casinos/<ref>/credit-lines": "ok 403 ok 403 403 ok 404 ok 404",
    "POST /v1/casinos/<ref>/credit-draws": "ok 403 403 403 403 ok 404 403 403",
    "POST /v1/casinos/<ref>/credit-repayments": "ok 403 403 403 403 ok 404 403 403",
    "POST /v1/casinos/<ref>/promoters": "ok 403 403 403 403 403 403 ok 404",
    "GET /v1/casinos/<ref>/promoters": "ok 403 ok 403 403 ok 404 ok 404",
    "POST /v1/casinos/<ref>/promoters/<licence>/players": "ok 403 403 403 403 ok 404 ok 404",
    "PUT /v1/casinos/<ref>/promoters/<licence>/wallet": "ok 403 403 403 403 403 403 ok 404",
    "PUT /v1/casinos/<ref>/beneficiaries": "ok 403 403 403 403 403 403 403 403",
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
    "POST /v1/exclusions/<id32:exclusion_id>/revoke": "ok 403 403 403 403 403 403 ok 404",
    # Managed anonymity: the central bank or a supervisor requests a reveal, a
    # key of the other role decides it (the same role's call is four_eyes_required),
    # the requesting key reads it (another's is not_the_requester).
    "POST /v1/wallets/<int:wallet_id>/identity-reveals": "403 ok 403 403 403 403 403 ok 404",
    "GET /v1/identity-reveals": "ok ok ok 403 403 403 403 ok ok",
    "GET /v1/identity-reveals/<id32:reveal_id>": "ok ok ok 403 403 403 403 ok 404",
    "POST /v1/identity-reveals/<id32:reveal_id>/approve": "403 ok 403 403 403 403 403 ok 404",
    "POST /v1/identity-reveals/<id32:reveal_id>/reject": "403 ok 403 403 403 403 403 ok 404",
    "POST /v1/identity-reveals/<id32:reveal_id>/read": "403 ok 403 403 403 403 403 ok 404",
    "GET /v1/wallet-aggregates": "ok ok ok ok ok 403 403 403 403",
    # Events: every role reads the feed (each its own scope's events); an
    # endpoint is its maker's scope's (BOCMO's here), the auditor makes none.
    "GET /v1/events": "ok ok ok ok ok ok ok ok ok",
    "POST /v1/webhook-endpoints": "ok ok 403 ok ok ok ok ok ok",
    "GET /v1/webhook-endpoints": "ok ok ok ok ok ok ok ok ok",
    "GET /v1/webhook-endpoints/<id32:endpoint_id>": "ok 404 404 ok 404 404 404 404 404",
    "POST /v1/webhook-endpoints/<id32:endpoint_id>/disable": "ok 404 403 ok 404 404 404 404 404",
    "POST /v1/webhook-endpoints/<id32:endpoint_id>/enable": "ok 404 403 ok 404 404 404 404 404",
    "POST /v1/webhook-endpoints/<id32:endpoint_id>/rotate-secret": (
        "ok 404 403 ok 404 404 404 404 404"
    ),
    "GET /v1/webhook-endpoints/<id32:endpoint_id>/deliveries": (
        "ok 404 404 ok 404 404 404 404 404"
    ),
    "POST /v1/webhook-endpoints/<id32:endpoint_id>/deliveries/<int:delivery_id>/redeliver": (
        "ok 404 403 ok 404 404 404 404 404"
    ),
}


# The scope's not-found code of a 404 cell: by the first resource the path
# names, or (NAMED_IN) by what the body or the query names.
NOT_FOUND_BY_PARAM = {
    "<code>": errors.OPERATOR_NOT_FOUND,
    "<int:wallet_id>": errors.WALLET_NOT_FOUND,
    "<int:transfer_id>": errors.TRANSFER_NOT_FOUND,
    "<int:hold_id>": errors.HOLD_NOT_FOUND,
    "<int:campaign_id>": errors.CAMPAIGN_NOT_FOUND,
    "<int:purse_id>": errors.OFFLINE_PURSE_NOT_FOUND,
    "<int:alert_id>": errors.ALERT_NOT_FOUND,
    "<id32:exclusion_id>": errors.EXCLUSION_NOT_FOUND,
    "<ref>": errors.CASINO_NOT_FOUND,
    "<id32:endpoint_id>": errors.WEBHOOK_ENDPOINT_NOT_FOUND,
    "<id32:reveal_id>": errors.IDENTITY_REVEAL_NOT_FOUND,
}
NAMED_IN = {
    "POST /v1/wallets": errors.OPERATOR_NOT_FOUND,  # "operator"
    "POST /v1/transfers": errors.WALLET_NOT_FOUND,  # "from_wallet"
    "POST /v1/transfers/batch": errors.WALLET_NOT_FOUND,  # each item's "from_wallet"
    "POST /v1/holds": errors.WALLET_NOT_FOUND,  # "from_wallet"
    "GET /v1/holds": errors.WALLET_NOT_FOUND,  # ?wallet=
    "POST /v1/offline/purses": errors.WALLET_NOT_FOUND,  # "wallet"
    "GET /v1/offline/purses": errors.WALLET_NOT_FOUND,  # ?wallet=
    "POST /v1/offline/sync": errors.OFFLINE_PURSE_NOT_FOUND,  # each voucher's purses
    "POST /v1/exclusions": errors.CASINO_NOT_FOUND,  # "casino"
    "POST /v1/envelope-campaigns": errors.WALLET_NOT_FOUND,  # "issuer_wallet"
    "POST /v1/envelope-campaigns/<int:campaign_id>/claims": errors.WALLET_NOT_FOUND,  # "wallet"
}
PARAM_RE = re.compile(r"<[^<>]+>")


def _not_found_code(endpoint: str) -> str | None:
    if endpoint in NAMED_IN:
        return NAMED_IN[endpoint]
    return next(
        (NOT_FOUND_BY_PARAM[p] for p in PARAM_RE.findall(endpoint) if p in NOT_FOUND_BY_PARAM), None
    )


def _money(world, column):
    return {"amount": "1.00"}


def _payment(world, column):
    return {"from_wallet": world["player"], "to_wallet": world["payee"], "amount": "0.01"}


# A valid body for every write that takes one (the world's resources; unique
# per caller where the first call's would clash with the next's).
BODIES = {
    "POST /v1/operators": lambda w, c: {"code": f"NEW_{c.upper()}", "name": "A new bank"},
    "POST /v1/operators/<code>/reserve-deposits": _money,
    "POST /v1/operators/<code>/issuances": _money,
    "POST /v1/operators/<code>/redemptions": _money,
    "PUT /v1/operators/<code>/limits/<int:wallet_class>": lambda w, c: {
        "balance_cap": None,
        "single_payment": None,
        "daily_out": None,
        "annual_out": None,
    },
    "POST /v1/wallets": lambda w, c: {
        "operator": "BOCMO",
        "wallet_class": 1,
        "region": "MO",
        "birth_date": "1990-01-01",
    },
    "PATCH /v1/wallets/<int:wallet_id>": lambda w, c: {"label": f"seen by {c}"},
    "POST /v1/wallets/<int:wallet_id>/fund": _money,
    "POST /v1/wallets/<int:wallet_id>/defund": _money,
    "POST /v1/transfers": _payment,
    "POST /v1/transfers/batch": lambda w, c: {
        "transfers": [{"id": f"matrix-{c}", **_payment(w, c)}]
    },
    "POST /v1/transfers/<int:transfer_id>/refunds": _money,
    "POST /v1/holds": _payment,
    "POST /v1/holds/<int:hold_id>/capture": _money,
    "POST /v1/envelope-campaigns": lambda w, c: {
        "issuer_wallet": w["issuer"],
        "name": f"vouchers of {c}",
        "amount": "1.00",
        "envelopes": 2,
        "valid_until": "2099-01-01T00:00:00+00:00",
    },
    "POST /v1/envelope-campaigns/<int:campaign_id>/grants": lambda w, c: {"wallets": [w["player"]]},
    "POST /v1/envelope-campaigns/<int:campaign_id>/claims": lambda w, c: {"wallet": w["payee"]},
    "POST /v1/offline/purses": lambda w, c: {
        "wallet": w["offline_wallet"],
        "device_key": OfflineDevice.from_seed(hashlib.sha256(c.encode()).digest()).device_key,
        "amount": "1.00",
    },
    "POST /v1/offline/purses/<int:purse_id>/loads": _money,
    "POST /v1/offline/purses/<int:purse_id>/unload": lambda w, c: {},
    "POST /v1/offline/sync": lambda w, c: {"vouchers": [w["voucher"]]},
    "PUT /v1/settlement/settings": lambda w, c: {"ndc_alert_percent": "80"},
    "PUT /v1/settlement/operators/<code>/net-debit-cap": lambda w, c: {
        "net_debit_cap": "1000000.00"
    },
    "POST /v1/audit/exports": lambda w, c: {"formats": ["csv"]},
    "PUT /v1/sandbox/profile": lambda w, c: {"name": "macau"},
    "PUT /v1/sandbox/clock": lambda w, c: {"now": w["now"]},
    "POST /v1/sandbox/clock/advance": lambda w, c: {"seconds": 0},
    "POST /v1/sandbox/reset": lambda w, c: {"template": "empty"},
    "POST /v1/keys": lambda w, c: {"role": "auditor", "label": f"made by {c}"},
    "POST /v1/casinos": lambda w, c: {
        "ref": f"NEW_{c.upper()}",
        "name": "A new casino",
        "operator": "BOCMO",
        "treasury_wallet": w["treasury"],
        "float": "0.00",
    },
    "POST /v1/casinos/<ref>/buy-ins": lambda w, c: {
        "player": w["player"],
        "amount": "1.00",
        "payment_code": w["payment_codes"][c],
    },
    "POST /v1/wallets/<int:wallet_id>/payment-codes": lambda w, c: {"max_amount": "1.00"},
    "POST /v1/casinos/<ref>/plays": lambda w, c: {"player": w["player"], "wager": "1.00"},
    "PUT /v1/casinos/<ref>/chips-approval": lambda w, c: {"chips_approved": "5000000.00"},
    "POST /v1/casinos/<ref>/chip-handovers": lambda w, c: {
        "from_player": w["player"],
        "to_player": w["payee"],
        "amount": "1.00",
    },
    "PUT /v1/casinos/<ref>/credit-lines/<int:wallet_id>": lambda w, c: {"limit": "100.00"},
    "POST /v1/casinos/<ref>/credit-draws": lambda w, c: {"player": w["player"], "amount": "1.00"},
    "POST /v1/casinos/<ref>/credit-repayments": lambda w, c: {
        "player": w["player"],
        "amount": "1.00",
        "payment_code": w["repayment_codes"][c],
    },
    "POST /v1/casinos/<ref>/promoters": lambda w, c: {
        "licence": f"GP-{c}",
        "name": "A promoter",
        "wallet": w["payee"],
        "commission_rate": "0.01",
    },
    "POST /v1/casinos/<ref>/promoters/<licence>/players": lambda w, c: {"player": w["player"]},
    "PUT /v1/casinos/<ref>/promoters/<licence>/wallet": lambda w, c: {"wallet": w["payee"]},
    "PUT /v1/casinos/<ref>/beneficiaries": lambda w, c: {
        "beneficiaries": {"macao_foundation": w["payee"]}
    },
    "POST /v1/casinos/<ref>/cash-outs": lambda w, c: {"player": w["player"], "amount": "1.00"},
    "POST /v1/alerts/<int:alert_id>/escalate": lambda w, c: {"note": "STR filed"},
    "POST /v1/alerts/<int:alert_id>/dismiss": lambda w, c: {"reason": "no case"},
    "POST /v1/webhook-endpoints": lambda w, c: {"url": f"http://127.0.0.1:9/{c}"},
    "POST /v1/wallets/<int:wallet_id>/identity-reveals": lambda w, c: {
        "legal_basis": "court_order",
        "case_reference": f"CASE-{c}",
    },
    "POST /v1/identity-reveals/<id32:reveal_id>/reject": lambda w, c: {"reason": "no case"},
    "POST /v1/exclusions": lambda w, c: {
        "holder_id": "P-2",
        "kind": "family",
        "ends_on": "2026-12-31",
        "casino": "COTAI",
    },
}


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^:<>]+)>", r"{\1}", rule)


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
    paths = sandbox.ok("GET", "/openapi.json", key=None)["paths"]
    with_body = {
        e
        for e in endpoints
        if "requestBody" in paths[_openapi_path(e.split()[1])][e.split()[0].lower()]
    }
    assert with_body - BODIES.keys() == set(), "writes without a valid body to send"
    assert BODIES.keys() - with_body == set(), "bodies for endpoints that take none"
    scoped = {e for e, cells in MATRIX.items() if "404" in cells.split()}
    assert {e for e in scoped if _not_found_code(e) is None} == set(), "404 cells without a code"


@pytest.fixture
def world(sandbox):
    sb = sandbox
    w = macau_world(sb)
    sb.keys["op"], sb.keys["op_other"] = sb.keys["BOCMO"], sb.keys["ICBC"]
    sb.keys["cb"] = sb.keys["central_bank"]
    sb.keys["mer"], sb.keys["sup"] = sb.keys["merchant"], sb.keys["supervisor"]
    sb.keys["mer_other"] = sb.key("merchant", casino_ref="LISBOA")
    sb.keys["sup_other"] = sb.key("supervisor", casino_ref="LISBOA")
    # Deferred net settlement: a window to close.
    sb.ok("PUT", "/v1/settlement/settings", key="cb", json={"model": "deferred_net"}, status=200)
    player = sb.wallet("BOCMO", 1, fund="1600000.00", region="MO")
    payee = sb.wallet("BOCMO", 1, region="MO")
    suspect = sb.wallet("BOCMO", 1, fund="100.00", region="MO")  # frozen and unfrozen
    empty = sb.wallet("BOCMO", 1, region="MO")  # closed
    cage(sb, "buy-ins", player, amount="1000.00")
    cage(sb, "buy-ins", suspect, amount="100.00")
    # Large buy-ins, an LTR alert each: one open, two acknowledged.
    alerts = [cage(sb, "buy-ins", player, amount="500000.00")["alerts"][0]["id"] for _ in range(3)]
    for alert in alerts[1:]:
        sb.ok("POST", f"/v1/alerts/{alert}/acknowledge", key="sup", status=200)

    def pay(path, **more):
        body = {**_payment(w, "op"), "amount": "10.00", **more}
        return sb.ok("POST", path, key="op", json=body)["id"]

    w.update(player=player, payee=payee)
    transfer = pay("/v1/transfers")
    hold, hold_to_void = (pay("/v1/holds", timeout_seconds=86400) for _ in range(2))
    # A district's red envelopes (BOCMO's issuer), and a payment its courier confirms.
    issuer = sb.wallet("BOCMO", 1, fund="1000.00", region="MO", kind="merchant")
    w["issuer"] = issuer
    campaign = sb.ok(
        "POST",
        "/v1/envelope-campaigns",
        key="op",
        json={**BODIES["POST /v1/envelope-campaigns"](w, "op"), "envelopes": 10, "claimable": True},
    )["id"]
    hold_to_confirm = pay(
        "/v1/holds",
        timeout_seconds=86400,
        condition="confirmation",
        confirmer_wallet=issuer,
    )
    # Offline purses: the player's pays the payee's; another to unload.
    devices = [OfflineDevice.from_seed(hashlib.sha256(n.encode()).digest()) for n in "ABC"]
    unloader = sb.wallet("BOCMO", 1, fund="10.00", region="MO")
    for device, wallet in zip(devices, (player, payee, unloader), strict=True):
        device.purse_id = sb.ok(
            "POST",
            "/v1/offline/purses",
            key="op",
            json={"wallet": wallet, "device_key": device.device_key, "amount": "1.00"},
        )["id"]
    voucher = devices[0].pay(devices[1].purse_id, "1.00", "2026-03-02T02:00:00Z")
    offline_wallet = sb.wallet("BOCMO", 1, fund="10.00", region="MO")
    exclusion = sb.ok(
        "POST",
        "/v1/exclusions",
        key="sup",
        json={"holder_id": "P-1", "kind": "self", "ends_on": "2026-12-31", "casino": "COTAI"},
    )
    spare_key = sb.ok("POST", "/v1/keys", json={"role": "auditor"})["id"]
    # Gaming credit owed, for the repayments.
    sb.ok(
        "PUT",
        f"/v1/casinos/COTAI/credit-lines/{player}",
        key="mer",
        json={"limit": "100.00"},
        status=200,
    )
    sb.ok(
        "POST",
        "/v1/casinos/COTAI/credit-draws",
        key="mer",
        json={"player": player, "amount": "50.00"},
    )
    sb.ok(
        "POST",
        "/v1/casinos/COTAI/promoters",
        key="sup",
        json={"licence": "GP-1", "name": "Promoter", "wallet": payee, "commission_rate": "0.01"},
    )
    # BOCMO's webhook endpoints (nothing listens there: no delivery is sent),
    # one disabled, and a delivery queued for the other.
    hooks = [
        sb.ok("POST", "/v1/webhook-endpoints", key="op", json={"url": "http://127.0.0.1:9/"})["id"]
        for _ in range(2)
    ]
    sb.ok("POST", f"/v1/webhook-endpoints/{hooks[1]}/disable", key="op", status=200)
    sb.wallet("BOCMO", 1, region="MO")  # an event of BOCMO's
    sb.db.write(dispatch.fan_out, dispatch.Policy())
    (delivery,) = sb.ok("GET", f"/v1/webhook-endpoints/{hooks[0]}/deliveries", key="op")["items"]
    # Identity reveals of the player, requested by the central bank: one to
    # approve, one to reject, one approved for the central bank to read.
    reveals = [
        sb.ok(
            "POST",
            f"/v1/wallets/{player}/identity-reveals",
            key="cb",
            json={"legal_basis": "court_order", "case_reference": f"CASE-{n}"},
        )["id"]
        for n in range(3)
    ]
    sb.ok("POST", f"/v1/identity-reveals/{reveals[2]}/approve", key="sup", status=200)
    advance(sb, 21 * 3600)  # 07:00 on Tuesday: the gaming day of DAY is over
    w.update(
        suspect=suspect,
        empty=empty,
        alert=alerts[0],
        acked_alert=alerts[1],
        acked_alert2=alerts[2],
        transfer=transfer,
        hold=hold,
        hold_to_void=hold_to_void,
        hold_to_confirm=hold_to_confirm,
        campaign=campaign,
        purse=devices[0].purse_id,
        purse_to_unload=devices[2].purse_id,
        voucher=voucher,
        offline_wallet=offline_wallet,
        exclusion=exclusion["id"],
        key=spare_key,
        webhook=hooks[0],
        webhook_disabled=hooks[1],
        delivery=delivery["id"],
        reveal=reveals[0],
        reveal_to_reject=reveals[1],
        reveal_approved=reveals[2],
        now=sb.ok("GET", "/v1/sandbox/clock")["now"],
        # A buy-in's consent, one per caller (a code is used once).
        payment_codes={c: payment_code(sb, player) for c in COLUMNS},
        repayment_codes={c: payment_code(sb, player) for c in COLUMNS},
    )
    return w


# The world's resource each path parameter names; some writes get one of their
# own, so that the row before does not decide the answer (a hold captured
# cannot be voided).
PARAMS = {
    "<code>": "BOCMO",
    "<int:wallet_class>": "1",
    "<int:wallet_id>": "player",
    "<int:transfer_id>": "transfer",
    "<int:hold_id>": "hold",
    "<int:campaign_id>": "campaign",
    "<int:purse_id>": "purse",
    "<int:alert_id>": "alert",
    "<id32:exclusion_id>": "exclusion",
    "<id32:key_id>": "key",
    "<int:window_id>": "1",
    "<id32:job_id>": "1",
    "<path:name>": "report.json",
    "<ref>": "COTAI",
    "<licence>": "GP-1",
    "<gaming_day:date>": DAY,
    "<id32:endpoint_id>": "webhook",
    "<int:delivery_id>": "delivery",
    "<id32:reveal_id>": "reveal",
}
OWN_RESOURCE = {
    "POST /v1/wallets/<int:wallet_id>/close": {"<int:wallet_id>": "empty"},
    "POST /v1/wallets/<int:wallet_id>/freeze": {"<int:wallet_id>": "suspect"},
    "POST /v1/wallets/<int:wallet_id>/unfreeze": {"<int:wallet_id>": "suspect"},
    "POST /v1/holds/<int:hold_id>/void": {"<int:hold_id>": "hold_to_void"},
    "POST /v1/holds/<int:hold_id>/confirm": {"<int:hold_id>": "hold_to_confirm"},
    "POST /v1/offline/purses/<int:purse_id>/unload": {"<int:purse_id>": "purse_to_unload"},
    "POST /v1/alerts/<int:alert_id>/escalate": {"<int:alert_id>": "acked_alert"},
    "POST /v1/alerts/<int:alert_id>/dismiss": {"<int:alert_id>": "acked_alert2"},
    "POST /v1/webhook-endpoints/<id32:endpoint_id>/enable": {
        "<id32:endpoint_id>": "webhook_disabled"
    },
    "POST /v1/identity-reveals/<id32:reveal_id>/reject": {"<id32:reveal_id>": "reveal_to_reject"},
    "POST /v1/identity-reveals/<id32:reveal_id>/read": {"<id32:reveal_id>": "reveal_approved"},
}


def _request(world, endpoint: str, column: str) -> tuple[str, str, dict | None]:
    method, rule = endpoint.split(" ")

    def value(match) -> str:
        name = OWN_RESOURCE.get(endpoint, {}).get(match.group(), PARAMS[match.group()])
        return str(world.get(name, name))

    path = PARAM_RE.sub(value, rule)
    if endpoint in ("GET /v1/holds", "GET /v1/offline/purses"):
        path += f"?wallet={world['player']}"
    body = BODIES[endpoint](world, column) if endpoint in BODIES else None
    return method, path, body


def _outcome(endpoint: str, r) -> tuple[int, str | None]:
    """The answer's status and code; a batch's is its items' when all are refused alike."""
    got = r.get_json(silent=True)
    code = got.get("code") if isinstance(got, dict) else None
    if endpoint == "POST /v1/transfers/batch" and r.status_code == 200:
        refused = {x["code"] for x in got["results"] if x["status"] == "refused"}
        if got["refused"] == len(got["results"]) and len(refused) == 1:
            code = refused.pop()
            return status_for(code), code
    if endpoint == "POST /v1/offline/sync" and r.status_code == 200:
        codes = {x["code"] for x in got["results"]}
        if got["rejected"] == len(got["results"]) and len(codes) == 1:
            code = codes.pop()
            return status_for(code), code
    return r.status_code, code


# GETs of things the world does not hold (an export job, a closed settlement
# window's report, a closed gaming day): allowed, but not 200.
ABSENT = ("/exports/", "/windows/", "/gaming-days/")


# Rows whose allowed call ends the world the others need: after every other row.
LAST = ("POST /v1/sandbox/reset",)


def test_matrix(world, sandbox):
    wrong = []
    for endpoint in sorted(MATRIX, key=lambda e: (e in LAST, e)):
        cells = dict(zip(COLUMNS, MATRIX[endpoint].split(), strict=True))
        scope_code = _not_found_code(endpoint)
        succeeded = False
        # Callers that may not act first, then the ones that do (their writes
        # may change what the next one finds, never whether it may act).
        for column in sorted(COLUMNS, key=lambda c: cells[c] == "ok"):
            method, path, body = _request(world, endpoint, column)
            headers = {}
            if method == "PATCH":  # the wallet's current version, as its ETag
                headers["If-Match"] = sandbox.get(path).headers["ETag"]
            r = sandbox.call(method, path, column, json=body, headers=headers)
            status, code = _outcome(endpoint, r)
            if cells[column] == "403":
                right = status == 403 and code == errors.FORBIDDEN_ROLE
            elif cells[column] == "404":
                right = status == 404 and code == scope_code
            elif method == "GET":
                right = status == 200 or (
                    any(part in path for part in ABSENT)
                    and status < 500
                    and status not in (401, 403)
                    and code != scope_code
                )
            else:
                succeeded = succeeded or status < 300
                right = status < 300 or (
                    status in (409, 422) and code not in (errors.VALIDATION_FAILED, scope_code)
                )
            if not right:
                wrong.append(f"{column} {cells[column]}: {method} {path} -> {status} {code}")
        if not endpoint.startswith("GET") and "ok" in cells.values() and not succeeded:
            wrong.append(f"{endpoint}: no caller in scope succeeded")
    assert not wrong, "\n".join(wrong)
