"""The docs stay true: every error code is documented, the OpenAPI document is
complete, and the docs UI works offline."""

from __future__ import annotations

import re
from pathlib import Path

from app.errors import status_for
from wallets.core.errors import CODES

ROOT = Path(__file__).resolve().parents[1]


def test_every_error_code_is_in_docs_errors_md_with_its_status():
    table = {
        m.group(1): int(m.group(2))
        for m in re.finditer(
            r"^\| `([a-z_]+)` \| (\d{3}) \|", (ROOT / "docs/errors.md").read_text(), re.M
        )
    }
    for code in CODES:
        assert code in table, f"{code} is missing from docs/errors.md"
        assert table[code] == status_for(code), code
    assert set(table) <= set(CODES), f"documented but unknown: {set(table) - set(CODES)}"


def test_openapi_document_lists_every_route_with_problems(sandbox):
    spec = sandbox.client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for rule in sandbox.app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        assert path in paths, path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            op = paths[path][method.lower()]
            assert {"401", "403"} <= set(op["responses"]), (path, method)
            assert "application/problem+json" in op["responses"]["401"]["content"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    amount = spec["components"]["schemas"]["AmountBody"]["properties"]["amount"]
    assert amount["type"] == "string" and "pattern" in amount


def test_docs_ui_is_served_from_installed_assets(sandbox):
    page = sandbox.client.get("/docs").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith("/docs/assets/") for a in assets), assets  # no CDN
    for asset in assets:
        r = sandbox.client.get(asset)
        assert r.status_code == 200 and len(r.data) > 1000, asset
    # the browser's request for the page's icon finds one (no 404 in its console)
    icon = sandbox.client.get("/favicon.ico")
    assert (icon.status_code, icon.mimetype) == (200, "image/vnd.microsoft.icon")
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
