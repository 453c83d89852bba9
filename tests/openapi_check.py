"""The OpenAPI document against the real answers: :func:`check_responses`
makes an app check every answer of a documented operation as it sends it —
status, content type and headers declared, a JSON body valid against the
declared schema (``required`` fields present, ``null`` only where
``nullable``). tests/conftest.py turns it on for every sandbox of the API
tests and every served demo, so the whole suite checks the document."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import jsonschema
from flask import Flask, request

from app.openapi import operation_id

# Headers every answer may carry without the operation declaring them.
UNDECLARED_OK = frozenset(
    {"content-type", "content-length", "x-request-id", "vary", "set-cookie", "content-disposition"}
)
# Headers an operation must declare when it sends them.
CHECKED_HEADERS = (
    "Location",
    "ETag",
    "Idempotent-Replayed",
    "Retry-After",
    "WWW-Authenticate",
    "Allow",
)


def json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 document's schemas as JSON Schema (draft 4): ``nullable``
    becomes a ``null`` type (or an alternative of a reference)."""
    if isinstance(node, list):
        return [json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: json_schema(v) for k, v in node.items() if k not in ("nullable", "example")}
    if node.get("nullable") is True:
        if "type" in out and "$ref" not in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def _checker(spec_json: str) -> _Checker:
    """One checker per document (every sandbox's app has the same one)."""
    return _Checker(json.loads(spec_json))


class _Checker:
    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.operations = {
            (op["operationId"], method): (path, op)
            for path, item in spec["paths"].items()
            for method, op in item.items()
            if isinstance(op, dict) and "operationId" in op
        }
        self.components = json_schema(spec["components"])
        self.validators: dict[tuple, jsonschema.Draft4Validator] = {}

    def resolve(self, node: dict) -> dict:
        while "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"][2:].split("/"):
                target = target[part]
            node = target
        return node

    def validator(self, key: tuple, schema: dict) -> jsonschema.Draft4Validator:
        found = self.validators.get(key)
        if found is None:
            root = {"components": self.components, "allOf": [json_schema(schema)]}
            found = self.validators[key] = jsonschema.Draft4Validator(root)
        return found

    def check(self, response) -> None:
        rule = request.url_rule
        if rule is None or response.status_code >= 500 and response.status_code != 503:
            return
        endpoint = (rule.endpoint or "").rpartition(".")[2]
        method = request.method.lower()
        found = self.operations.get((operation_id(endpoint), method))
        if found is None or found[0] != re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule):
            return  # not an operation of the document (a console page, say)
        path, op = found
        where = f"{request.method} {request.path} ({path}) -> {response.status_code}"
        status = str(response.status_code)
        declared = op["responses"].get(status)
        assert declared is not None or response.status_code >= 400, (
            f"{where}: status not documented"
        )
        declared = self.resolve(declared or op["responses"]["default"])
        headers = {name.lower() for name in declared.get("headers", {})}
        for name in CHECKED_HEADERS:
            if name in response.headers:
                assert name.lower() in headers, f"{where}: header {name} not declared"
        if response.status_code in (204, 304):
            return
        content = declared.get("content", {})
        assert response.mimetype in content, (
            f"{where}: {response.mimetype} not among {list(content)}"
        )
        if not response.mimetype.endswith("json") or response.direct_passthrough:
            return
        schema = content[response.mimetype].get("schema")
        if schema is None:
            return
        body = response.get_json(force=True)
        errors = sorted(
            self.validator((path, method, status, response.mimetype), schema).iter_errors(body),
            key=lambda e: list(e.absolute_path),
        )
        assert not errors, f"{where}: " + "; ".join(
            f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]
        )


def check_responses(app: Flask) -> None:
    """From now on, every answer of ``app`` to a documented operation is checked
    against the document (an AssertionError fails the request's test)."""
    found: list[_Checker] = []

    @app.after_request
    def _conforms(response):
        if not found:
            api = next(iter(app.extensions["flask-smorest"]["blp_name_to_api"].values()))
            found.append(_checker(json.dumps(api.spec.to_dict(), sort_keys=True)))
        found[0].check(response)
        return response
