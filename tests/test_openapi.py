"""The OpenAPI document describes the real API: the request headers it honours
(Idempotency-Key on every write, If-Match on the wallet updates), errors as
Problem under application/problem+json, a stable operationId per operation;
and the problems the API really sends conform to the documented schema."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter

import jsonschema
import pytest

# The OpenAPI 3.0 meta-schema, as schemathesis (a test dependency) ships it.
from schemathesis.specs.openapi.definitions import OPENAPI_30

PROBLEM = "application/problem+json"
METHODS = ("get", "put", "post", "delete", "patch")
WRITES = ("post", "put", "patch", "delete")
# Writes that take no Idempotency-Key, each with the reason (none today: every
# write goes through app/writes.write, which honours the key).
NOT_IDEMPOTENT: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def spec():
    from app import create_app
    from wallets.core.config import Settings

    app = create_app({"SETTINGS": Settings(database_url="sqlite://"), "TESTING": True})
    return app.test_client().get("/openapi.json").get_json()


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def _resolve(spec, node):
    while "$ref" in node:
        node = _at(spec, node["$ref"])
    return node


def _at(spec, ref: str):
    assert ref.startswith("#/"), ref
    node = spec
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _header_params(spec, op) -> dict[str, dict]:
    found = [_resolve(spec, p) for p in op.get("parameters", [])]
    return {p["name"]: p for p in found if p["in"] == "header"}


def test_the_document_is_valid_openapi_and_every_ref_resolves(spec):
    jsonschema.Draft4Validator(OPENAPI_30).validate(spec)

    def refs(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            for v in node.values():
                yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)

    for ref in set(refs(spec)):
        _at(spec, ref)


def test_length_words_match_the_type_they_bound(spec):
    """minLength/maxLength bound strings; an object's key count is min/maxProperties
    (a casino's beneficiaries: at most 8), an array's is min/maxItems."""
    seen = []

    def walk(node):
        if isinstance(node, dict):
            kind = node.get("type")
            if "maxLength" in node or "minLength" in node:
                assert kind == "string", node
            if "maxProperties" in node:
                assert kind == "object", node
                seen.append(node["maxProperties"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    assert 8 in seen  # the beneficiaries' bound, once written as maxLength


def test_every_write_declares_idempotency_key(spec):
    writes = [(p, m) for p, m, _ in _operations(spec) if m in WRITES and p.startswith("/v1/")]
    assert len(writes) >= 38
    component = spec["components"]["parameters"]["IdempotencyKey"]
    assert component["name"] == "Idempotency-Key" and component["in"] == "header"
    assert component["required"] is False
    for path, method, op in _operations(spec):
        if method not in WRITES or (path, method) in NOT_IDEMPOTENT:
            continue
        refs = [p.get("$ref") for p in op.get("parameters", [])]
        assert "#/components/parameters/IdempotencyKey" in refs, (method, path)
    for path, method, op in _operations(spec):
        if method == "get":
            assert "Idempotency-Key" not in _header_params(spec, op), path


def test_if_match_is_declared_where_it_is_read(spec):
    patches = [(p, op) for p, m, op in _operations(spec) if m == "patch"]
    assert patches
    for path, op in patches:
        header = _header_params(spec, op).get("If-Match")
        assert header is not None and header["required"] is True, path
        assert {"412", "428"} <= set(op["responses"]), path
    for action in ("freeze", "unfreeze", "close"):
        op = spec["paths"][f"/v1/wallets/{{wallet_id}}/{action}"]["post"]
        header = _header_params(spec, op)["If-Match"]
        assert header["required"] is False and "412" in op["responses"]


def test_every_error_response_is_a_problem(spec):
    schemas = spec["components"]["schemas"]
    assert {"Error", "PaginationMetadata"}.isdisjoint(schemas)
    assert set(spec["components"]["responses"]) == {"Problem"}
    problem = schemas["Problem"]
    assert problem["properties"]["code"]["type"] == "string"
    assert {"type", "title", "status", "code", "detail", "request_id"} <= set(problem["required"])
    for path, method, op in _operations(spec):
        responses = op["responses"]
        assert responses["default"] == {"$ref": "#/components/responses/Problem"}, (method, path)
        for status, response in responses.items():
            response = _resolve(spec, response)
            if status == "default" or int(status) >= 400:
                assert list(response["content"]) == [PROBLEM], (method, path, status)
                schema = response["content"][PROBLEM]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, (method, path)
        if path.startswith("/v1/"):
            assert {"401", "403", "503"} <= set(responses), (method, path)
        if method in WRITES and path.startswith("/v1/"):
            assert {"400", "413", "415", "422"} <= set(responses), (method, path)


def test_every_operation_has_a_unique_operation_id(spec):
    ids = Counter(op.get("operationId") for _, _, op in _operations(spec))
    assert None not in ids
    assert [i for i, n in ids.items() if n > 1] == []
    # readable: a verb and its object in camelCase, as a generator names its functions
    assert [i for i in ids if not re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]+)*", i)] == []
    assert spec["paths"]["/v1/transfers"]["post"]["operationId"] == "createTransfer"
    assert spec["paths"]["/v1/operators/{code}"]["get"]["operationId"] == "getOperator"


def _headers(spec, response) -> set[str]:
    return set(_resolve(spec, response).get("headers", {}))


def test_response_headers_are_declared_where_they_are_sent(spec):
    headers = spec["components"]["headers"]
    assert set(headers) == {
        "X-Request-Id",
        "Idempotent-Replayed",
        "Location",
        "WWW-Authenticate",
        "Retry-After",
        "Allow",
    }
    assert headers["Idempotent-Replayed"]["schema"]["enum"] == ["true"]
    problem = spec["components"]["responses"]["Problem"]
    assert {"X-Request-Id", "WWW-Authenticate", "Retry-After", "Allow"} <= _headers(spec, problem)
    for path, method, op in _operations(spec):
        for status, response in op["responses"].items():
            declared = _headers(spec, response)
            assert "X-Request-Id" in declared, (method, path, status)
            if status.startswith("2") and method in WRITES:
                assert "Idempotent-Replayed" in declared, (method, path, status)
            if status == "401":
                assert "WWW-Authenticate" in declared, (method, path)
            if status == "503":
                assert "Retry-After" in declared, (method, path)
    export = spec["paths"]["/v1/audit/exports"]["post"]["responses"]["202"]
    assert "Location" in _headers(spec, export)
    wallet = spec["paths"]["/v1/wallets/{wallet_id}"]["get"]["responses"]["200"]
    assert "ETag" in _headers(spec, wallet)


def test_downloads_declare_their_content_types(spec):
    def content(path):
        return set(spec["paths"][path]["get"]["responses"]["200"]["content"])

    assert content("/v1/settlement/windows/{window_id}/report") == {"application/json", "text/csv"}
    assert content("/v1/audit/exports/{job_id}/files/{name}") == {
        "text/csv",
        "application/x-ndjson",
        "application/xml",
        "application/json",
    }
    assert content("/v1/audit/exports/{job_id}/archive") == {"application/gzip"}


def test_response_schemas_require_every_field_they_always_send(spec):
    """A response schema lists all its fields as required (tests/openapi_check.py
    checks, on every answer of the API tests, that they are there and that null
    comes only where `nullable` says so); a request schema only what it needs."""
    schemas = spec["components"]["schemas"]
    outputs = {
        name
        for name, schema in schemas.items()
        if name.endswith(("Out", "Page")) or name in ("Problem",)
    }
    assert len(outputs) >= 55
    for name in outputs:
        schema = schemas[name]
        if name == "Problem":
            assert set(schema["required"]) == set(schema["properties"]) - {"errors"}
            continue
        assert set(schema["required"]) == set(schema["properties"]), name
    transfer = schemas["TransferOut"]["properties"]
    assert transfer["reference"]["nullable"] is True and "nullable" not in transfer["amount"]
    assert set(schemas["TransferCreate"]["required"]) == {"from_wallet", "to_wallet", "amount"}


def test_enumerated_fields_list_the_domains_values(spec):
    from wallets.audit import checkpoints, log
    from wallets.audit.export import jobs
    from wallets.casino import exclusions
    from wallets.casino.model import OPERATION_KINDS
    from wallets.core.principal import ROLES
    from wallets.ledger.posting import TRANSFER_KINDS
    from wallets.retail import campaigns, holds
    from wallets.retail import wallet as wl
    from wallets.retail.payments import BATCH_RESULTS
    from wallets.supervision import alerts
    from wallets.tier1 import settlement

    schemas = spec["components"]["schemas"]
    expected = {
        ("TransferOut", "kind"): TRANSFER_KINDS,
        ("TransferOut", "status"): ("posted",),
        ("StatementEntryOut", "kind"): TRANSFER_KINDS,
        ("BatchResultOut", "status"): BATCH_RESULTS,
        ("WalletOut", "kind"): wl.KINDS,
        ("WalletOut", "status"): wl.STATUSES,
        ("HoldOut", "status"): holds.STATUSES,
        ("HoldOut", "condition"): holds.CONDITIONS,
        ("WalletOut", "merchant_category"): wl.MERCHANT_CATEGORIES,
        ("CampaignOut", "status"): campaigns.STATUSES,
        ("EnvelopeOut", "source"): campaigns.SOURCES,
        ("EnvelopeOut", "campaign_status"): campaigns.STATUSES,
        ("AlertOut", "type"): alerts.TYPES,
        ("AlertOut", "status"): alerts.STATUSES,
        ("AlertBriefOut", "type"): alerts.TYPES,
        ("ExclusionOut", "kind"): exclusions.KINDS,
        ("ExclusionOut", "status"): exclusions.STATUSES,
        ("SettlementSettingsOut", "model"): settlement.MODELS,
        ("WindowOut", "status"): settlement.WINDOW_STATUSES,
        ("ExportJobOut", "status"): jobs.STATUSES,
        ("CheckpointOut", "reason"): checkpoints.REASONS,
        ("AuditEventOut", "outcome"): log.OUTCOMES,
        ("KeyOut", "role"): ROLES,
        ("CageOperationOut", "kind"): OPERATION_KINDS,
        ("OperationOut", "kind"): OPERATION_KINDS,
    }
    for (name, field), values in expected.items():
        assert schemas[name]["properties"][field]["enum"] == list(values), (name, field)


def test_a_draft_of_an_unknown_transfer_kind_is_refused():
    """TRANSFER_KINDS is the vocabulary the document lists: nothing else is posted."""
    from wallets.ledger.posting import TransferDraft

    with pytest.raises(ValueError, match="chip_adjustment"):
        TransferDraft("chip_adjustment", "ECNY", 1, [])


def test_the_answer_check_finds_a_missing_field_and_an_undeclared_null(spec):
    """tests/openapi_check.py, which every API test runs, can fail."""
    from tests.openapi_check import _Checker

    checker = _Checker(spec)
    schema = spec["paths"]["/v1/transfers/{transfer_id}"]["get"]["responses"]["200"]["content"]
    validator = checker.validator(("test",), schema["application/json"]["schema"])
    entry = {
        "seq": 1,
        "debit_account": "W:2:ECNY",
        "credit_account": "W:10:ECNY",
        "asset": "ECNY",
        "amount": "1.00",
        "hash": "0" * 64,
    }
    good = {
        "id": 1,
        "kind": "payment",
        "status": "posted",
        "asset": "ECNY",
        "amount": "1.00",
        "from_wallet": 2,
        "to_wallet": 10,
        "from_operator": "ICBC",
        "to_operator": "BOCMO",
        "reference": None,
        "posted_at": "2026-01-01T00:00:00+00:00",
        "hold_id": None,
        "refund_of": None,
        "entries": [entry],
    }
    assert list(validator.iter_errors(good)) == []
    missing = {k: v for k, v in good.items() if k != "posted_at"}
    assert [e.message for e in validator.iter_errors(missing)] == [
        "'posted_at' is a required property"
    ]
    assert list(validator.iter_errors({**good, "amount": None}))
    assert list(validator.iter_errors({**good, "kind": "gift"}))


# ---- the real answers against the document ---------------------------------------


def _json_schema(spec, schema):
    """An OpenAPI 3.0 schema as JSON Schema: refs inlined, `nullable` as a type."""
    schema = copy.deepcopy(_resolve(spec, schema))
    if schema.pop("nullable", False) and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    for key in ("properties",):
        for name, sub in schema.get(key, {}).items():
            schema[key][name] = _json_schema(spec, sub)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            schema[key] = _json_schema(spec, schema[key])
    return schema


def _operation_for(spec, method: str, path: str):
    for template, item in spec["paths"].items():
        pattern = re.sub(r"\{[^}]+\}", r"[^/]+", template)
        if re.fullmatch(pattern, path) and method in item:
            return item[method]
    return None


def test_real_problems_conform_to_the_documented_schema(demo):
    spec = demo.client.get("/openapi.json").get_json()
    problem_schema = _json_schema(spec, {"$ref": "#/components/schemas/Problem"})
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    hold = demo.ok(
        "POST", "/v1/holds", json={"from_wallet": a, "to_wallet": b, "amount": "1.00"}, key="ICBC"
    )
    demo.ok("POST", f"/v1/holds/{hold['id']}/void", key="ICBC", status=200)
    pay = {"from_wallet": a, "to_wallet": b, "amount": "1.00"}
    calls = [
        # (method, path, key, kwargs, status, code)
        ("GET", f"/v1/wallets/{a}", None, {}, 401, "unauthorized"),
        ("POST", "/v1/operators", "ICBC", {"json": {"code": "X"}}, 403, "forbidden"),
        ("GET", "/v1/wallets/999999", "ICBC", {}, 404, "wallet_not_found"),
        ("DELETE", "/v1/transfers", "ICBC", {}, 405, "method_not_allowed"),
        ("POST", f"/v1/holds/{hold['id']}/void", "ICBC", {}, 409, "hold_already_resolved"),
        (
            "PATCH",
            f"/v1/wallets/{b}",
            "ICBC",
            {"json": {"label": "x"}, "headers": {"If-Match": '"nope"'}},
            412,
            "etag_mismatch",
        ),
        ("PATCH", f"/v1/wallets/{b}", "ICBC", {"json": {"label": "x"}}, 428, "if_match_required"),
        (
            "PATCH",
            f"/v1/wallets/{b}",
            "ICBC",
            {"json": {"label": "x"}, "headers": {"If-Match": "nope"}},
            400,
            "bad_request",
        ),
        (
            "POST",
            "/v1/transfers",
            "ICBC",
            {"data": b"{", "content_type": "application/json"},
            400,
            "malformed_json",
        ),
        (
            "POST",
            "/v1/transfers",
            "ICBC",
            {"data": b"x" * (8 * 1024 * 1024 + 1), "content_type": "application/json"},
            413,
            "payload_too_large",
        ),
        (
            "POST",
            "/v1/transfers",
            "ICBC",
            {"data": json.dumps(pay), "content_type": "text/plain"},
            415,
            "unsupported_media_type",
        ),
        ("POST", "/v1/transfers", "ICBC", {"json": {"amount": "x"}}, 422, "validation_failed"),
        ("GET", "/v1/holds?wallet=x", "ICBC", {}, 422, "validation_failed"),
        (
            "POST",
            "/v1/transfers",
            "ICBC",
            {"json": {**pay, "amount": "5000.00"}},
            422,
            "insufficient_funds",
        ),
        (
            "POST",
            "/v1/transfers",
            "ICBC",
            {"json": pay, "headers": {"Idempotency-Key": "k\u00e9y"}},
            422,
            "validation_failed",
        ),
    ]
    for method, path, key, kwargs, status, code in calls:
        r = demo.call(method, path, key, **kwargs)
        where = f"{method} {path}"
        assert (r.status_code, r.mimetype) == (status, PROBLEM), (where, r.get_data())
        body = r.get_json(force=True)
        assert body["code"] == code, (where, body)
        jsonschema.validate(body, problem_schema)
        op = _operation_for(spec, method.lower(), path.split("?")[0])
        if op is None:
            assert status == 405, where  # no such operation: the default problem
            continue
        declared = op["responses"].get(str(status), op["responses"]["default"])
        assert PROBLEM in _resolve(spec, declared)["content"], (where, status)
        assert str(status) in op["responses"], (where, f"{status} is not documented")


# ---- the examples work on the demo of `make run` -------------------------------

# Every operation with a request body, in an order that works on a freshly
# seeded demo: (operationId, path, role). ``{...}`` are ids earlier answers give.
EXAMPLE_RUN = [
    # first, so that the dates of the examples (an exclusion's end) hold in any year
    ("setClock", "/v1/sandbox/clock", "admin"),
    ("createOperator", "/v1/operators", "central_bank"),
    ("depositReserve", "/v1/operators/ICBC/reserve-deposits", "central_bank"),
    ("issue", "/v1/operators/ICBC/issuances", "central_bank"),
    ("redeem", "/v1/operators/ICBC/redemptions", "central_bank"),
    ("setLimits", "/v1/operators/ICBC/limits/2", "ICBC"),
    ("openWallet", "/v1/wallets", "ICBC"),
    ("updateWallet", "/v1/wallets/2", "ICBC"),
    ("fund", "/v1/wallets/2/fund", "ICBC"),
    ("defund", "/v1/wallets/2/defund", "ICBC"),
    ("createTransfer", "/v1/transfers", "ICBC"),
    ("createBatch", "/v1/transfers/batch", "ICBC"),
    ("refund", "/v1/transfers/{transfer}/refunds", "admin"),
    ("createHold", "/v1/holds", "ICBC"),
    ("captureHold", "/v1/holds/{hold}/capture", "ICBC"),
    ("createCampaign", "/v1/envelope-campaigns", "ICBC"),
    ("grantEnvelopes", "/v1/envelope-campaigns/{campaign}/grants", "ICBC"),
    ("claimEnvelope", "/v1/envelope-campaigns/{campaign}/claims", "BOC"),
    ("issuePaymentCode", "/v1/wallets/2/payment-codes", "ICBC"),
    ("buyIn", "/v1/casinos/COTAI/buy-ins", "merchant"),
    ("play", "/v1/casinos/COTAI/plays", "merchant"),
    ("cashOut", "/v1/casinos/COTAI/cash-outs", "merchant"),
    ("setChipsApproval", "/v1/casinos/COTAI/chips-approval", "supervisor"),
    ("registerPromoter", "/v1/casinos/COTAI/promoters", "supervisor"),
    ("attachPromoterPlayer", "/v1/casinos/COTAI/promoters/GP-0042/players", "supervisor"),
    ("setPromoterWallet", "/v1/casinos/COTAI/promoters/GP-0042/wallet", "supervisor"),
    ("setBeneficiaries", "/v1/casinos/COTAI/beneficiaries", "admin"),
    ("setCreditLine", "/v1/casinos/COTAI/credit-lines/2", "merchant"),
    ("drawCredit", "/v1/casinos/COTAI/credit-draws", "merchant"),
    ("repayCredit", "/v1/casinos/COTAI/credit-repayments", "merchant"),
    ("handOverChips", "/v1/casinos/COTAI/chip-handovers", "merchant"),
    ("openPurse", "/v1/offline/purses", "ICBC"),
    ("syncVouchers", "/v1/offline/sync", "ICBC"),
    ("loadPurse", "/v1/offline/purses/1/loads", "ICBC"),
    ("unloadPurse", "/v1/offline/purses/1/unload", "ICBC"),
    ("createWebhookEndpoint", "/v1/webhook-endpoints", "ICBC"),
    ("requestIdentityReveal", "/v1/wallets/2/identity-reveals", "central_bank"),
    ("rejectIdentityReveal", "/v1/identity-reveals/{reveal}/reject", "supervisor"),
    ("escalateAlert", "/v1/alerts/{alert}/escalate", "supervisor"),
    ("dismissAlert", "/v1/alerts/{other_alert}/dismiss", "supervisor"),
    ("addExclusion", "/v1/exclusions", "supervisor"),
    ("registerCasino", "/v1/casinos", "admin"),
    ("setNetDebitCap", "/v1/settlement/operators/ICBC/net-debit-cap", "central_bank"),
    ("updateSettings", "/v1/settlement/settings", "central_bank"),
    ("setProfile", "/v1/sandbox/profile", "admin"),
    ("createKey", "/v1/keys", "admin"),
    ("createExport", "/v1/audit/exports", "auditor"),
    ("advanceClock", "/v1/sandbox/clock/advance", "admin"),
    # last: it wipes the world the others use (the admin's key stays)
    ("resetSandbox", "/v1/sandbox/reset", "admin"),
]


def test_the_response_examples_are_valid_answers(spec):
    from tests.openapi_check import _Checker

    checker = _Checker(spec)
    found = [(spec["components"]["responses"]["Problem"], PROBLEM)]  # the default
    found += [
        (response, media)
        for _, _, op in _operations(spec)
        for response in op["responses"].values()
        for media in _resolve(spec, response).get("content", {})
    ]
    examples = [
        (_resolve(spec, r)["content"][m]["schema"], _resolve(spec, r)["content"][m]["example"])
        for r, m in found
        if "example" in _resolve(spec, r)["content"][m]
    ]
    assert len(examples) >= 4
    for schema, example in examples:
        key = ("example", json.dumps(schema, sort_keys=True))
        assert list(checker.validator(key, schema).iter_errors(example)) == [], example


def test_every_request_body_has_an_example_that_works_on_the_demo(tmp_path):
    """Each example body, sent as the document gives it (path parameters from
    their examples where the path has them), is accepted by a freshly seeded demo:
    Swagger UI's "Try it out" pre-fills nothing that cannot work."""
    from tests.conftest import seeded_demo

    app, database, seeded = seeded_demo(tmp_path)  # every answer checked against the document
    # by role, and by code for the operators ("ICBC")
    keys = {(scope if role == "operator" else role): key for (role, scope), key in seeded.items()}
    client = app.test_client()
    doc = client.get("/openapi.json").get_json()

    bodies = {
        op["operationId"]: op["requestBody"]["content"]["application/json"]["example"]
        for _, _, op in _operations(doc)
        if "requestBody" in op
    }
    assert sorted(bodies) == sorted(op_id for op_id, _, _ in EXAMPLE_RUN)
    for path, item in doc["paths"].items():
        for parameter in item.get("parameters", []):
            if parameter["name"] in ("code", "wallet_id", "ref", "wallet_class", "licence"):
                assert "example" in parameter, (path, parameter)

    def call(method, path, role, **kw):
        headers = {"Authorization": f"Bearer {keys[role]}", **kw.pop("headers", {})}
        return client.open(path, method=method, headers=headers, **kw)

    found: dict[str, object] = {}
    for op_id, path, role in EXAMPLE_RUN:
        method = next(m for p, m, op in _operations(doc) if op["operationId"] == op_id)
        template = next(p for p, m, op in _operations(doc) if op["operationId"] == op_id)
        body = dict(bodies[op_id])
        headers = {}
        if op_id == "updateWallet":
            headers["If-Match"] = call("GET", path, role).headers["ETag"]
        if op_id == "buyIn":
            body["payment_code"] = found["payment_code"]
        if op_id == "repayCredit":
            code = call("POST", "/v1/wallets/2/payment-codes", "ICBC").get_json()["code"]
            body["payment_code"] = code
        if op_id == "syncVouchers":
            # the payee's purse (2), of wallet 5, as examples.py says
            payee = {
                "wallet": 5,
                "device_key": "VAQq1ebRLdkPmof2zrHNmyIAp9pTFtEZi9R+cERMSaU=",
                "amount": "10.00",
            }
            opened = call("POST", "/v1/offline/purses", "ICBC", json=payee)
            assert opened.status_code == 201 and opened.get_json()["id"] == 2, opened.get_json()
        if op_id == "escalateAlert":
            # a second alert to dismiss: another mainland wallet's buy-in
            code = call("POST", "/v1/wallets/3/payment-codes", "ICBC").get_json()["code"]
            second = {"player": 3, "amount": "1000.00", "payment_code": code}
            buy = call("POST", "/v1/casinos/COTAI/buy-ins", "merchant", json=second)
            assert buy.status_code == 201, buy.get_json()
            alerts = call("GET", "/v1/alerts?casino=COTAI", "supervisor").get_json()["items"]
            assert len(alerts) >= 2, alerts
            found["alert"], found["other_alert"] = alerts[0]["id"], alerts[1]["id"]
            for alert in alerts[:2]:
                ack = call("POST", f"/v1/alerts/{alert['id']}/acknowledge", "supervisor")
                assert ack.status_code == 200, ack.get_json()
        r = call(method.upper(), path.format(**found), role, json=body, headers=headers)
        assert r.status_code < 300, (op_id, template, r.get_data(as_text=True))
        answer = r.get_json()
        if op_id == "createTransfer":
            found["transfer"] = answer["id"]
        if op_id == "createHold":
            found["hold"] = answer["id"]
        if op_id == "createCampaign":
            found["campaign"] = answer["id"]
        if op_id == "issuePaymentCode":
            found["payment_code"] = answer["code"]
        if op_id == "requestIdentityReveal":
            found["reveal"] = answer["id"]
    database.dispose()
