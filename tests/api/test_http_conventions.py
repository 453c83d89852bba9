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
