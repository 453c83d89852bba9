"""The OpenAPI document says what the API really does, so that client
generators and Swagger UI can use it as it is (docs/api.md): errors are RFC 9457
problems under application/problem+json, every write takes an Idempotency-Key,
the writes that update a resource take If-Match, every operation has an operationId, the
response headers the sandbox sends are declared, and request bodies have
examples that work on the demo.

flask-smorest documents its own error body (``Error``, an integer ``code``
under application/json), which this API never sends; :class:`SandboxApi`
puts ``Problem`` in its place, :func:`document_operation` adds the request
headers and problem responses to each operation, and the apispec plugin
``_Completion`` the examples (app/examples.py) and the response headers, each
from one place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from apispec import APISpec, BasePlugin
from flask_smorest import Api, Blueprint

from . import examples
from .schemas.common import ProblemSchema

PROBLEM = "application/problem+json"
STATE_CHANGING = ("post", "put", "patch", "delete")

# Component names (components/parameters and components/responses).
IDEMPOTENCY_KEY = "IdempotencyKey"
IF_MATCH = "IfMatch"
IF_MATCH_OPTIONAL = "IfMatchOptional"
PROBLEM_RESPONSE = "Problem"
# Response headers (components/headers), by the header's name.
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-Id": {
        "description": (
            "The request's id, in the audit log and the server log: the X-Request-Id "
            "you sent (1-64 printable characters), else one the sandbox made"
        ),
        "schema": {"type": "string", "maxLength": 64},
    },
    "Idempotent-Replayed": {
        "description": (
            "`true`: this is the stored response of an earlier request with the same "
            "Idempotency-Key, replayed; nothing was done again. Absent on a first answer"
        ),
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Location": {
        "description": "Where the created resource is",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "WWW-Authenticate": {
        "description": "On a 401: the scheme to authenticate with (RFC 6750)",
        "schema": {"type": "string", "example": 'Bearer realm="ecny"'},
    },
    "Retry-After": {
        "description": "On a 503 `busy`: seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Allow": {
        "description": "On a 405: the methods the path takes",
        "schema": {"type": "string", "example": "GET, POST"},
    },
}

# The header's syntax: what wallets/services/idempotency.py accepts (KEY_RE).
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]{1,255}$"
# "*", or a list of entity tags (RFC 9110 section 13.1.1) as the ETag header gives them.
IF_MATCH_PATTERN = r'^(\*|(W/)?"[!#-~]*"( *, *(W/)?"[!#-~]*")*)$'

_IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes the write safe to retry: the first response is stored and a retry "
        "with the same key and request gets it again (`Idempotent-Replayed: true`); "
        "the same key with a different request is `422 idempotency_key_reused`; "
        "a retry sent while the first still runs waits for it, then gets its response "
        "(or, if the first was refused, runs afresh). Keys are per API key. "
        "1-255 printable ASCII characters: a new one for each new request."
    ),
    # No example: Swagger UI would send the same key with every operation (and the
    # second, a different request, would be refused as idempotency_key_reused).
    "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN, "maxLength": 255},
}


def _if_match_parameter(required: bool) -> dict[str, Any]:
    when = (
        "Required: without it `428 if_match_required`."
        if required
        else "Optional: when sent, it must match."
    )
    return {
        "name": "If-Match",
        "in": "header",
        "required": required,
        "description": (
            "The resource's ETag as you read it (its GET's `ETag`, or the answer's "
            "of your last write of it), `*` for any current version, or a list "
            "of ETags of which one must match (strong comparison: a weak `W/` tag "
            "never matches). Otherwise `412 etag_mismatch`, and nothing changes; "
            f"a malformed header is `400 bad_request`. {when}"
        ),
        "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
        "example": '"w2v1"',
    }


# What a built document depends on besides the blueprints (see SandboxApi).
_DOCUMENT_SETTINGS = (
    "API_TITLE",
    "API_VERSION",
    "OPENAPI_VERSION",
    "API_SPEC_OPTIONS",
    "OPENAPI_URL_PREFIX",
)
_DOCUMENTS: dict[str, APISpec] = {}

_PROBLEM_DESCRIPTIONS = {
    400: "Malformed request (bad JSON, bad header, an unknown query parameter)",
    401: "Missing or unknown API key",
    403: "The key's role may not do this",
    404: "No such resource, or outside the caller's scope",
    409: "Conflicts with the current state (e.g. an idempotent request still in flight)",
    412: "If-Match does not match the resource's current ETag",
    413: "The body is larger than the sandbox accepts",
    415: "The body must be application/json",
    422: "Validation failed, or refused by a ledger or business rule",
    428: "This update needs If-Match with the ETag you read",
    503: "The ledger stayed busy through every retry; retry the request",
}


def problem_response(status: int) -> dict[str, Any]:
    """A documented problem answer (flask-smorest's alt_response arguments)."""
    return {
        "schema": ProblemSchema,
        "content_type": PROBLEM,
        "description": _PROBLEM_DESCRIPTIONS[status],
    }


class SandboxApi(Api):
    """flask-smorest's Api with this API's error body and request headers."""

    DEFAULT_ERROR_RESPONSE_NAME = PROBLEM_RESPONSE

    def register_blueprints(self, blueprints: Sequence[Blueprint]) -> None:
        """Registers the blueprints; their document is built once per process.

        The document depends only on the blueprints (module-level objects) and
        the document settings, the same for every app a process makes (the test
        suite makes one per test, the CLI one per command); building it is most
        of an app's making (flask-smorest deep-copies every operation's doc
        into the spec). A later app with the same settings serves the spec the
        first one built, which nothing changes once it is built."""
        key = repr(
            [self._app.config.get(name) for name in _DOCUMENT_SETTINGS]
            + [id(bp) for bp in blueprints]
        )
        built = _DOCUMENTS.get(key)
        if built is None:
            for bp in blueprints:
                self.register_blueprint(bp)
            _DOCUMENTS[key] = self.spec  # type: ignore[has-type]
            return
        routes = self._app.extensions["flask-smorest"]["blp_name_to_api"]
        for bp in blueprints:
            routes[bp.name] = self
            self._app.register_blueprint(bp)
        self.spec = built

    def _init_spec(self, *, extra_plugins=None, **kwargs) -> None:
        super()._init_spec(extra_plugins=[*(extra_plugins or ()), _Completion()], **kwargs)

    def _register_responses(self) -> None:
        for name, header in RESPONSE_HEADERS.items():
            self.spec.components.header(name, header)
        self.spec.components.response(
            PROBLEM_RESPONSE,
            {
                "description": (
                    "An RFC 9457 problem: a stable `code` (docs/errors.md), the HTTP "
                    "`status`, a human `detail`, the `request_id` of the server log. "
                    "Any status the operation does not list, e.g. 405 with `Allow`"
                ),
                "content": {PROBLEM: {"schema": ProblemSchema, "example": examples.PROBLEM}},
                "headers": {
                    name: name
                    for name in ("X-Request-Id", "WWW-Authenticate", "Retry-After", "Allow")
                },
            },
        )

    def _register_etag_headers(self) -> None:
        self.spec.components.parameter(
            IDEMPOTENCY_KEY, "header", dict(_IDEMPOTENCY_KEY_PARAMETER), lazy=True
        )
        self.spec.components.parameter(IF_MATCH, "header", _if_match_parameter(True), lazy=True)
        self.spec.components.parameter(
            IF_MATCH_OPTIONAL, "header", _if_match_parameter(False), lazy=True
        )

    def _register_pagination_header(self) -> None:
        """Lists page by cursor (``next_after``), not by flask-smorest's pagination."""


def takes_if_match(*, required: bool):
    """Document that a view reads If-Match (app/blueprints/common.if_match)."""

    def decorator(fn):
        fn._apidoc = {**getattr(fn, "_apidoc", {}), "if_match": required}
        return fn

    return decorator


def operation_id(endpoint: str) -> str:
    """``create_transfer`` -> ``createTransfer``."""
    first, *rest = endpoint.split("_")
    return first + "".join(word.capitalize() for word in rest)


def document_operation(doc: dict, doc_info: dict, *, method: str, **_kwargs: Any) -> dict:
    """The last of a blueprint's doc callbacks: the request headers an operation
    honours, and every problem it can answer described as a Problem."""
    parameters = doc.setdefault("parameters", [])
    if method in STATE_CHANGING:
        # Every write goes through app/writes.write (wallets.services.execute), which honours the key.
        parameters.append(IDEMPOTENCY_KEY)
    if "if_match" in doc_info:
        parameters.append(IF_MATCH if doc_info["if_match"] else IF_MATCH_OPTIONAL)
    if not parameters:
        del doc["parameters"]
    responses = doc.setdefault("responses", {})
    for status, response in list(responses.items()):
        # flask-smorest names its own error responses (the 422 of a parameter
        # that fails validation: "UNPROCESSABLE_ENTITY"); ours are problems.
        if isinstance(response, str) and status != "default":
            responses[status] = _problem_content(int(status))
    return doc


class _Completion(BasePlugin):
    """What apispec's last helper adds to every path, from one place: the
    examples of app/examples.py (request bodies, path parameters), and the
    response headers the sandbox sends: every answer's X-Request-Id, a write's
    Idempotent-Replayed on a success, a 401's WWW-Authenticate, a 503's
    Retry-After."""

    def path_helper(self, path=None, operations=None, parameters=None, **kwargs) -> None:
        for parameter in parameters or []:
            if not isinstance(parameter, dict) or parameter.get("in") != "path":
                continue
            if parameter["name"] in examples.PATH_PARAMETERS:
                parameter["example"] = examples.PATH_PARAMETERS[parameter["name"]]

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for method, operation in (operations or {}).items():
            body = operation.get("requestBody")
            if body is not None:
                body["content"]["application/json"]["example"] = examples.REQUEST_BODIES[
                    operation["operationId"]
                ]
            for status, response in operation.get("responses", {}).items():
                if not isinstance(response, dict) or status == "default":
                    continue  # the Problem component declares its own
                code = int(status)
                answer = examples.RESPONSE_BODIES.get((operation["operationId"], code))
                if answer is not None:
                    response["content"]["application/json"]["example"] = answer
                headers = response.setdefault("headers", {})
                names = ["X-Request-Id"]
                if code < 300 and method in STATE_CHANGING:
                    names.append("Idempotent-Replayed")
                if code == 401:
                    names.append("WWW-Authenticate")
                if code == 503:
                    names.append("Retry-After")
                for name in names:
                    headers.setdefault(name, name)


def _problem_content(status: int) -> dict[str, Any]:
    return {
        "description": _PROBLEM_DESCRIPTIONS[status],
        "content": {PROBLEM: {"schema": ProblemSchema}},
    }
