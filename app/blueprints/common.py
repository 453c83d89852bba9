"""Shared bits for blueprints: documented problem responses, cursors."""

from __future__ import annotations

import re
from collections.abc import Callable

import flask_smorest
from flask import g, request
from webargs.flaskparser import FlaskParser

from wallets.core import errors
from wallets.core.preconditions import IfMatch

from .. import openapi


class _Parser(FlaskParser):
    """webargs' parser, reading the body app/__init__.py already parsed (once)
    instead of parsing it again; a query parameter the operation's schema does
    not declare is refused (400 unknown_parameter), never silently ignored:
    ``?kye_id=5`` must not answer everything."""

    def _raw_load_json(self, req):
        if "json_body" in g and req.mimetype == "application/json":
            return g.json_body
        return super()._raw_load_json(req)

    def _load_location_data(self, *, schema, req, location):
        data = super()._load_location_data(schema=schema, req=req, location=location)
        if location in ("query", "querystring"):
            declared = {f.data_key or name for name, f in schema.fields.items() if not f.dump_only}
            unknown = sorted(set(data.keys()) - declared)
            if unknown:
                names = ", ".join(unknown)
                raise errors.DomainError(
                    errors.UNKNOWN_PARAMETER,
                    f"unknown query parameter: {names} (this operation takes: "
                    f"{', '.join(sorted(declared))})",
                    parameters=unknown,
                )
        return data


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = _Parser()

    def arguments(self, schema, *, location="json", **kwargs):
        """Query arguments may be refused as unknown (400): documented with them."""
        decorator = super().arguments(schema, location=location, **kwargs)
        if location not in ("query", "querystring"):
            return decorator

        def both(fn):
            return self.alt_response(400, **openapi.problem_response(400))(decorator(fn))

        return both

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(openapi.document_operation)

    def _store_endpoint_docs(self, endpoint, obj, parameters, tags, **options):
        super()._store_endpoint_docs(endpoint, obj, parameters, tags, **options)
        for method, doc in self._docs[endpoint].items():
            if method != "parameters":
                doc.setdefault("manual_doc", {}).setdefault(
                    "operationId", openapi.operation_id(endpoint)
                )


def problems(blp: Blueprint, *statuses: int) -> Callable:
    """Document problem responses (every /v1 call may also answer 401, 403 and 503)."""

    def decorator(fn: Callable) -> Callable:
        for status in sorted({401, 403, 503, *statuses}):
            fn = blp.alt_response(status, **openapi.problem_response(status))(fn)
        return fn

    return decorator


WRITE_PROBLEMS = (400, 404, 409, 413, 415, 422, 503)


def int_cursor(after: str | None) -> int | None:
    if after is None:
        return None
    if not (after.isascii() and after.isdigit()) or len(after) > 18:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            "after: not a cursor of this list",
            errors={"after": ["not a valid cursor"]},
        )
    return int(after)


# RFC 9110 section 8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; If-Match
# takes "*" or a list of them (empty list elements are allowed, section 5.6.1).
_ENTITY_TAG = r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"'
_IF_MATCH_LIST = re.compile(rf"[ \t]*(?:{_ENTITY_TAG})?(?:[ \t]*,[ \t]*(?:{_ENTITY_TAG})?)*[ \t]*")


def etag_header(what: str) -> dict[str, dict]:
    """The documented ``ETag`` of an answer that shows ``what`` (docs/api.md "ETags")."""
    return {
        "ETag": {
            "description": f"The {what}'s version: send it back as If-Match to update it",
            "schema": {"type": "string"},
        }
    }


def if_match() -> IfMatch | None:
    """The request's If-Match (RFC 9110 section 13.1.1), or None without one:
    ``*``, or a list of entity tags of which any may match. Weak tags are left
    out: If-Match compares strongly, so they never match."""
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    if raw.strip(" \t") == "*":
        return IfMatch(any_tag=True)
    tags = re.findall(_ENTITY_TAG, raw)
    if not tags or not _IF_MATCH_LIST.fullmatch(raw):
        raise errors.DomainError(
            errors.BAD_REQUEST,
            'If-Match must be * or a list of quoted entity tags such as "w1v2"',
            errors={"If-Match": ['must be * or quoted entity tags such as "w1v2"']},
        )
    return IfMatch(tags=frozenset(t for t in tags if not t.startswith("W/")))
