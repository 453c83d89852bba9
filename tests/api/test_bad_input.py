"""Bad input: each gets a 4xx problem naming the field, never a 500, and nothing is written."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BAD_AMOUNTS = [
    "1.001",
    "-5",
    "1e3",
    1.5,
    100,
    "",
    "1000000000000.01",
    None,
    "abc",
    " 1.00",
    "0",
    "0.00",
    True,
    [],
]


@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=repr)
def test_bad_amounts_are_refused_by_field(demo, amount):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    before = demo.journal_count()
    for path, body, key in [
        ("/v1/transfers", {"from_wallet": a, "to_wallet": b, "amount": amount}, "ICBC"),
        (f"/v1/wallets/{a}/fund", {"amount": amount}, "ICBC"),
        ("/v1/operators/ICBC/issuances", {"amount": amount}, "central_bank"),
    ]:
        r = demo.post(path, body, key=key)
        problem = r.get_json()
        assert r.status_code == 422, (path, problem)
        assert r.mimetype == "application/problem+json"
        assert problem["code"] == "validation_failed" and "amount" in problem["errors"]
    assert demo.journal_count() == before


def test_wrong_types_unknown_fields_and_missing_fields(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    cases = [
        ({"from_wallet": str(a), "to_wallet": b, "amount": "1.00"}, "from_wallet"),
        ({"from_wallet": a, "to_wallet": 1.0, "amount": "1.00"}, "to_wallet"),
        ({"from_wallet": a, "to_wallet": b, "amount": "1.00", "memo": "x"}, "memo"),
        ({"to_wallet": b, "amount": "1.00"}, "from_wallet"),
        ({"from_wallet": a, "to_wallet": b, "amount": "1.00", "reference": 5}, "reference"),
        ({"from_wallet": a, "to_wallet": b, "amount": "1.00", "reference": "x" * 141}, "reference"),
        ({"from_wallet": -1, "to_wallet": b, "amount": "1.00"}, "from_wallet"),
        ({"from_wallet": 2**70, "to_wallet": b, "amount": "1.00"}, "from_wallet"),
    ]
    before = demo.journal_count()
    for body, field in cases:
        r = demo.post("/v1/transfers", body, key="ICBC")
        assert r.status_code == 422, body
        assert field in r.get_json()["errors"], (body, r.get_json())
    for body in ([], "text", 5, None):
        r = demo.post("/v1/transfers", body, key="ICBC")
        assert r.status_code in (400, 422) and r.get_json()["code"] in (
            "validation_failed",
            "malformed_json",
        )
    assert demo.journal_count() == before


def test_malformed_json_and_wrong_content_type(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    good = json.dumps({"from_wallet": a, "to_wallet": b, "amount": "1.00"})
    headers = {"Authorization": f"Bearer {demo.keys['ICBC']}"}
    client = demo.client
    for data, ctype, status, code in [
        ('{"from_wallet": 1,', "application/json", 400, "malformed_json"),
        (b"\xff\xfe\x00", "application/json", 400, "malformed_json"),
        ("", "application/json", 422, "validation_failed"),
        (good, "text/plain", 415, "unsupported_media_type"),
        (good, "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (good, None, 415, "unsupported_media_type"),
    ]:
        r = client.post("/v1/transfers", data=data, content_type=ctype, headers=headers)
        assert (r.status_code, r.get_json()["code"]) == (status, code), (data, ctype, r.get_json())
    assert demo.balance(a) == "1000.00"


def test_unknown_ids_and_routes(demo):
    assert demo.get("/v1/wallets/99999").get_json()["code"] == "wallet_not_found"
    assert demo.get("/v1/operators/NOPE").get_json()["code"] == "operator_not_found"
    r = demo.post("/v1/wallets/99999/fund", {"amount": "1.00"})
    assert r.status_code == 404 and r.get_json()["code"] == "wallet_not_found"
    r = demo.get("/v1/nothing-here")
    assert r.status_code == 404 and r.get_json()["code"] == "not_found"
    r = demo.call("DELETE", "/v1/transfers")
    assert r.status_code == 405 and r.get_json()["code"] == "method_not_allowed"
    assert demo.get("/v1/wallets/abc").status_code == 404
    for q in ("limit=0", "limit=501", "limit=x", "after=-1", "after=abc"):
        r = demo.get(f"/v1/wallets?{q}")
        assert r.status_code == 422 and r.get_json()["code"] == "validation_failed", q


def test_bad_idempotency_key_header(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    r = demo.post(
        "/v1/transfers",
        {"from_wallet": a, "to_wallet": b, "amount": "1.00"},
        key="ICBC",
        idem="x" * 256,
    )
    assert r.status_code == 422 and "Idempotency-Key" in r.get_json()["errors"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
transfer_like = st.fixed_dictionaries(
    {},
    optional={
        "from_wallet": json_values,
        "to_wallet": json_values,
        "amount": json_values | st.from_regex(r"-?[0-9]{0,14}(\.[0-9]{0,3})?", fullmatch=True),
        "reference": json_values,
    },
)

ENDPOINTS = [
    ("POST", "/v1/transfers"),
    ("POST", "/v1/wallets"),
    ("POST", "/v1/wallets/1/fund"),
    ("POST", "/v1/wallets/1/defund"),
    ("POST", "/v1/operators"),
    ("POST", "/v1/operators/ICBC/issuances"),
    ("POST", "/v1/operators/ICBC/redemptions"),
    ("POST", "/v1/operators/ICBC/reserve-deposits"),
    ("PUT", "/v1/sandbox/clock"),
    ("POST", "/v1/sandbox/clock/advance"),
    ("POST", "/v1/keys"),
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(endpoint=st.sampled_from(ENDPOINTS), body=transfer_like | json_values)
def test_no_body_yields_a_500(demo, endpoint, body):
    method, path = endpoint
    raw = json.dumps(body, allow_nan=True)
    r = demo.client.open(
        path,
        method=method,
        data=raw,
        content_type="application/json",
        headers={"Authorization": f"Bearer {demo.keys['admin']}"},
    )
    assert r.status_code < 500, (path, raw, r.get_data(as_text=True))
    if r.status_code >= 400:
        assert r.mimetype == "application/problem+json" and r.get_json()["code"]
