"""HTTP conventions: bodies are UTF-8 JSON, every JSON answer ends with a
newline (a replay too, byte for byte), and /docs/ leads to the docs."""

from __future__ import annotations

import codecs
import json


def test_a_body_that_is_not_utf8_is_malformed_json(demo):
    """RFC 8259 section 8.1: JSON between systems is UTF-8. Other encodings are
    refused as malformed (400), not guessed at or reported as missing fields."""
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    text = json.dumps({"from_wallet": a, "to_wallet": b, "amount": "1.00"})
    headers = {"Authorization": f"Bearer {demo.keys['ICBC']}"}
    for data in (
        text.encode("utf-16"),  # with its byte order mark
        text.encode("utf-16-le"),  # without: every other byte is NUL
        text.encode("utf-16-be"),
        text.encode("utf-32"),
        codecs.BOM_UTF8 + text.encode(),
    ):
        r = demo.client.post(
            "/v1/transfers", data=data, content_type="application/json", headers=headers
        )
        assert (r.status_code, r.get_json()["code"]) == (400, "malformed_json"), data[:8]
    r = demo.client.post(
        "/v1/transfers", data=b"", content_type="application/json", headers=headers
    )
    assert r.status_code == 422 and set(r.get_json()["errors"]) == {
        "from_wallet",
        "to_wallet",
        "amount",
    }
    assert demo.balance(a) == "1000.00"


def test_every_json_answer_ends_with_a_newline_and_a_replay_is_byte_identical(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    pay = {"from_wallet": a, "to_wallet": b, "amount": "1.00"}
    first = demo.call("POST", "/v1/transfers", "ICBC", json=pay, idem="pay-1")
    replay = demo.call("POST", "/v1/transfers", "ICBC", json=pay, idem="pay-1")
    assert first.status_code == replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert first.get_data() == replay.get_data()
    answers = [
        first,
        demo.call("POST", "/v1/transfers", "ICBC", json=pay),
        demo.call("POST", f"/v1/wallets/{a}/freeze", "ICBC"),
        demo.call("POST", "/v1/transfers/batch", "ICBC", json={"transfers": [pay]}),
        demo.get(f"/v1/wallets/{b}", key="ICBC"),
        demo.get("/v1/transfers/999999", key="ICBC"),
        demo.call("POST", "/v1/transfers", "ICBC", json={**pay, "amount": "x"}),
        demo.get("/v1/sandbox/clock"),
    ]
    for r in answers:
        assert r.is_json, r
        data = r.get_data()
        assert data.endswith(b"}\n") and not data.endswith(b"\n\n"), (r.status_code, data[-40:])


def test_docs_with_a_trailing_slash_lead_to_the_docs(demo):
    for path in ("/docs/", "/docs/index.html"):
        r = demo.client.get(path)
        assert r.status_code == 301 and r.headers["Location"] == "/docs", path
    assert demo.client.get("/docs/", follow_redirects=True).status_code == 200
