"""Swagger UI at /docs, in headless Chromium (Debian's, driven by Playwright),
on the demo of `make run`: authorize with a key, "Try it out" on creating a
transfer with the example body as the document pre-fills it, and the answer
is 201. The page loads without a failed request (its favicon too).

Screenshots go to test-artifacts/docs/ (gitignored). The test skips only when
/usr/bin/chromium is missing and CI is not set: in CI it must run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import seeded_demo, served
from tests.console.test_console_browser import CHROMIUM, LAUNCH_ARGS

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "docs"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="headless Chromium is not installed (apt-get install -y chromium)",
)


@pytest.fixture
def demo_server(tmp_path):
    """The demo sandbox served on a free 127.0.0.1 port: (base URL, ICBC's key)."""
    app, database, keys = seeded_demo(tmp_path)
    with served(app) as base:
        yield base, keys[("operator", "ICBC")]
    database.dispose()


def test_try_it_out_creates_a_transfer_with_the_example_body(demo_server):
    from playwright.sync_api import sync_playwright

    base, icbc = demo_server
    failed: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
            page.set_default_timeout(20_000)
            page.on(
                "response",
                lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            page.on("requestfailed", lambda r: failed.append(f"failed {r.url}"))
            page.goto(f"{base}/docs")
            page.wait_for_selector("#operations-transfers-createTransfer")
            assert failed == [], failed  # the page, its assets, the document, the favicon

            page.click("button.authorize")
            page.fill(".auth-container input", icbc)
            page.click(".auth-btn-wrapper button.authorize")
            page.click(".auth-btn-wrapper button.btn-done")

            operation = page.locator("#operations-transfers-createTransfer")
            operation.locator(".opblock-summary").click()
            operation.locator("button.try-out__btn").click()
            body = operation.locator("textarea.body-param__text")
            assert json.loads(body.input_value()) == {
                "from_wallet": 2,
                "to_wallet": 10,
                "amount": "100.00",
                "reference": "dinner",
            }
            operation.locator("button.execute").click()
            status = operation.locator(
                ".live-responses-table tr.response .response-col_status"
            ).first
            status.wait_for()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "try-it-out-create-transfer.png"))
            assert status.inner_text().strip() == "201"
            answer = json.loads(
                operation.locator(
                    ".live-responses-table .response-col_description pre"
                ).first.inner_text()
            )
            assert (answer["kind"], answer["from_operator"], answer["to_operator"]) == (
                "payment",
                "ICBC",
                "BOCMO",
            )
        finally:
            browser.close()
