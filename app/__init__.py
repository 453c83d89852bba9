"""The Flask HTTP layer: parse, call one domain function, render."""

from __future__ import annotations

import codecs
import json
import re
import secrets
from typing import Any

from flask import Flask, g, jsonify, redirect, request, send_from_directory, url_for
from flask.json.provider import DefaultJSONProvider
from swagger_ui_bundle import swagger_ui_path

from wallets.core import errors as domain_errors
from wallets.core.config import Settings
from wallets.core.db import Database, current_revision

from . import auth, console, converters, writes
from . import errors as http_errors
from .blueprints import BLUEPRINTS
from .openapi import SandboxApi
from .schemas.common import Amount, SignedAmount, amount_properties, dict_properties

API_DESCRIPTION = """\
A two-tier e-CNY ledger: the central bank issues e-CNY to operators against
reserves, operators fund wallets, wallets pay each other.

Authenticate with `Authorization: Bearer <API key>`. Amounts are decimal
strings of CNY with at most two decimals. Every write accepts an
`Idempotency-Key` header. Errors are RFC 9457 problems with a stable `code`
(docs/errors.md lists them all).
"""

MAX_BODY_BYTES = 8 * 1024 * 1024


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    settings = (config or {}).get("SETTINGS") or Settings.from_env()
    app.config.update(
        API_TITLE="e-CNY sandbox",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",
        API_SPEC_OPTIONS={
            "info": {"description": API_DESCRIPTION},
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
        },
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        JSON_SORT_KEYS=False,
    )
    app.config.update(config or {})
    assert isinstance(app.json, DefaultJSONProvider), (
        "Flask's own provider (no json_provider_class)"
    )
    app.json.sort_keys = False
    db = (config or {}).get("DATABASE") or Database(settings.database_url)
    app.extensions["ecny"] = {"db": db, "settings": settings}

    converters.register(app)
    api = SandboxApi(app)
    converters.document(api)
    api.register_field(Amount, "string", None)
    api.register_field(SignedAmount, "string", None)
    api.ma_plugin.converter.add_attribute_function(amount_properties)
    api.ma_plugin.converter.add_attribute_function(dict_properties)
    api.register_blueprints(BLUEPRINTS)

    console.init_app(
        app,
        secret_key=settings.secret_key,
        secret_dir=settings.signing_key_path.parent,
        secure_cookie=settings.secure_cookie,
    )

    http_errors.register(app)  # after Api: ours replaces its JSON error handler
    # before_request hooks run in this order: request id, API key and role, body.
    app.before_request(_request_id)
    auth.register(app)
    app.before_request(_json_body)
    writes.register(app)  # the audit log of writes refused before they reach write()
    app.after_request(_echo_request_id)

    @app.get("/docs/assets/<path:filename>")
    def swagger_assets(filename: str):
        return send_from_directory(swagger_ui_path, filename)

    @app.get("/docs/")
    @app.get("/docs/index.html")
    def docs_elsewhere():
        return redirect("/docs", code=301)

    @app.get("/favicon.ico")
    def favicon():
        # Browsers ask every page's host for it (Swagger UI at /docs, the console).
        return send_from_directory(
            console.bp.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon"
        )

    @app.get("/")
    def index():
        return redirect(url_for("console.home"))

    @app.get("/healthz")
    def healthz():
        try:
            revision = current_revision(db.engine)
        except Exception:  # noqa: BLE001 - health reports, never raises
            return jsonify(status="unavailable", database="unreachable", migration=None), 503
        if revision is None:
            return jsonify(status="unavailable", database="not migrated", migration=None), 503
        return jsonify(status="ok", database=db.engine.dialect.name, migration=revision)

    return app


def _request_id():
    incoming = request.headers.get("X-Request-Id", "")
    g.request_id = (
        incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else secrets.token_hex(8)
    )


def _json_body():
    """Bodies are JSON: say so precisely before any parsing."""
    if request.method not in ("POST", "PUT", "PATCH") or not request.path.startswith("/v1/"):
        return None
    raw = request.get_data(cache=True)
    if not raw:
        return None  # actions need no body; payloads with required fields name the missing ones
    if request.mimetype != "application/json":
        raise domain_errors.DomainError(
            domain_errors.UNSUPPORTED_MEDIA_TYPE,
            f"send Content-Type: application/json, not {request.mimetype or 'nothing'}",
        )
    if raw.startswith(codecs.BOM_UTF8):
        raise domain_errors.DomainError(
            domain_errors.MALFORMED_JSON,
            "the body starts with a byte order mark: send UTF-8 JSON without one",
        )
    try:
        # JSON between systems is UTF-8 (RFC 8259 section 8.1): a UTF-16 or
        # UTF-32 body is refused here, not guessed at.
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise domain_errors.DomainError(
            domain_errors.MALFORMED_JSON,
            f"the body is not UTF-8: {exc.reason} at byte {exc.start}",
        ) from None
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise domain_errors.DomainError(
            domain_errors.MALFORMED_JSON, f"the body is not valid JSON: {exc}"
        ) from None
    except RecursionError:
        raise domain_errors.DomainError(
            domain_errors.MALFORMED_JSON, "the body nests deeper than the parser allows"
        ) from None
    if _ESCAPED_SURROGATE.search(raw) and _has_surrogate(body):
        # An escaped half of a UTF-16 pair ("\ud800") parses into text that no
        # database can store.
        raise domain_errors.DomainError(
            domain_errors.MALFORMED_JSON,
            "the body is not valid JSON: a \\u escape names a lone UTF-16 surrogate",
        )
    g.json_body = body  # parsed once: webargs and the audit log read it
    return None


_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def _has_surrogate(value) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def _echo_request_id(response):
    response.headers["X-Request-Id"] = getattr(g, "request_id", "")
    return response
