"""The examples of docs/errors.md are real answers: each block marked
``<!-- example: NAME -->`` is what the request of NAME below answers on a
fresh demo sandbox (ICBC's wallets 1 and 2, BOC's wallet 3), byte for byte.

After a deliberate change, rewrite the blocks from the real answers with
``ECNY_UPDATE_DOCS=1 .venv/bin/python -m pytest tests/test_error_examples.py``."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

ERRORS_MD = Path(__file__).resolve().parents[1] / "docs/errors.md"
BLOCK = re.compile(
    r"(<!-- example: (?P<name>[a-z0-9_]+) -->\n```json\n)(?P<body>(?:.*?\n)??)(```)", re.S
)
REQUEST_ID = "5f0c2a9d1e7b4c33"
PAY = {"from_wallet": 1, "to_wallet": 2, "amount": "1000.01"}


def _examples(sb):
    """NAME -> the response of its request, in an order that keeps ids stable."""
    a, b = sb.demo_wallets["a"], sb.demo_wallets["b"]
    assert (a, b) == (1, 2)
    hold = sb.ok(
        "POST", "/v1/holds", json={"from_wallet": a, "to_wallet": b, "amount": "5.00"}, key="ICBC"
    )
    sb.ok("POST", f"/v1/holds/{hold['id']}/void", key="ICBC", status=200)
    etag = sb.get(f"/v1/wallets/{b}", key="ICBC").headers["ETag"]
    sb.ok(
        "PATCH",
        f"/v1/wallets/{b}",
        key="ICBC",
        json={"label": "shop"},
        headers={"If-Match": etag},
    )
    sb.ok(
        "POST",
        f"/v1/wallets/{b}/fund",
        key="ICBC",
        json={"amount": "10.00"},
        headers={"Idempotency-Key": "fund-7"},
    )
    json_body = {"content_type": "application/json"}
    requests = {
        "insufficient_funds": ("POST", "/v1/transfers", "ICBC", {"json": PAY}),
        "insufficient_reserve": (
            "POST",
            "/v1/operators/ICBC/issuances",
            "central_bank",
            {"json": {"amount": "900000.00"}},
        ),
        "insufficient_vault_funds": (
            "POST",
            "/v1/operators/ICBC/redemptions",
            "central_bank",
            {"json": {"amount": "600000.00"}},
        ),
        "validation_failed": (
            "POST",
            "/v1/transfers",
            "ICBC",
            {"json": {"from_wallet": a, "amount": 12.5}},
        ),
        "validation_failed_empty_body": (
            "POST",
            "/v1/transfers",
            "ICBC",
            {"data": b"", **json_body},
        ),
        "malformed_json": (
            "POST",
            "/v1/transfers",
            "ICBC",
            {"data": b'{"from_wallet": 1', **json_body},
        ),
        "malformed_json_utf16": (
            "POST",
            "/v1/transfers",
            "ICBC",
            {"data": json.dumps(PAY).encode("utf-16"), **json_body},
        ),
        "etag_mismatch": (
            "PATCH",
            f"/v1/wallets/{b}",
            "ICBC",
            {"json": {"label": "desk"}, "headers": {"If-Match": etag}},
        ),
        "idempotency_key_reused": (
            "POST",
            f"/v1/wallets/{b}/fund",
            "ICBC",
            {"json": {"amount": "20.00"}, "headers": {"Idempotency-Key": "fund-7"}},
        ),
        "hold_already_resolved": ("POST", f"/v1/holds/{hold['id']}/capture", "ICBC", {"json": {}}),
        "unauthorized": ("GET", f"/v1/wallets/{a}", None, {}),
    }
    answers = {}
    for name, (method, path, key, kwargs) in requests.items():
        headers = {**kwargs.pop("headers", {}), "X-Request-Id": REQUEST_ID}
        answers[name] = sb.call(method, path, key, headers=headers, **kwargs)
    return answers


def _render(response) -> str:
    return json.dumps(response.get_json(force=True), indent=2, ensure_ascii=False) + "\n"


def test_the_examples_of_errors_md_are_what_the_api_answers(demo):
    answers = _examples(demo)
    text = ERRORS_MD.read_text()
    documented = {m["name"]: m["body"] for m in BLOCK.finditer(text)}
    assert set(documented) == set(answers), "each example block has a request, and back"
    for name, response in answers.items():
        assert response.mimetype == "application/problem+json", name
        body = response.get_json(force=True)
        assert name.startswith(body["code"]), (name, body["code"])
    if os.environ.get("ECNY_UPDATE_DOCS"):
        ERRORS_MD.write_text(BLOCK.sub(lambda m: m[1] + _render(answers[m["name"]]) + m[4], text))
        return
    for name, response in answers.items():
        assert documented[name] == _render(response), (
            f"docs/errors.md example {name} is stale: this is the real answer\n"
            f"{_render(response)}\n(ECNY_UPDATE_DOCS=1 rewrites the blocks)"
        )
