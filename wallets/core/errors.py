"""Every refusal has one precise, stable code.

A code belongs to a category, and each category (or, for a few codes, the
code itself) to the HTTP status that :func:`status_of` gives: the API answers
with it and the audit log records it, for the CLI's writes too. docs/errors.md
lists every code (a test keeps the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Categories of failure, independent of any transport.
INVALID = "invalid"  # the request itself is wrong
UNAUTHENTICATED = "unauthenticated"
FORBIDDEN = "forbidden"  # the role may never do this
NOT_FOUND = "not_found"  # absent, or outside the caller's scope
CONFLICT = "conflict"  # clashes with the current state of a resource
REFUSED = "refused"  # well-formed, but a ledger or business rule says no
PRECONDITION_FAILED = "precondition_failed"
PRECONDITION_REQUIRED = "precondition_required"
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class ErrorCode:
    code: str
    category: str
    title: str


CODES: dict[str, ErrorCode] = {}


def _code(code: str, category: str, title: str) -> str:
    CODES[code] = ErrorCode(code, category, title)
    return code


# Request shape
VALIDATION_FAILED = _code("validation_failed", INVALID, "Request validation failed")
MALFORMED_JSON = _code("malformed_json", INVALID, "The body is not valid UTF-8 JSON")
UNSUPPORTED_MEDIA_TYPE = _code(
    "unsupported_media_type", INVALID, "The body must be application/json"
)
BAD_REQUEST = _code("bad_request", INVALID, "Bad request")
UNKNOWN_PARAMETER = _code(
    "unknown_parameter", INVALID, "The request has a query parameter the operation does not take"
)
METHOD_NOT_ALLOWED = _code("method_not_allowed", INVALID, "Method not allowed")
NOT_ACCEPTABLE = _code("not_acceptable", INVALID, "Not acceptable")
PAYLOAD_TOO_LARGE = _code("payload_too_large", INVALID, "Payload too large")
# Auth
UNAUTHORIZED = _code("unauthorized", UNAUTHENTICATED, "Missing or invalid API key")
FORBIDDEN_ROLE = _code("forbidden", FORBIDDEN, "This role may not do this")
# Lookups
NOT_FOUND_CODE = _code("not_found", NOT_FOUND, "No such resource")
OPERATOR_NOT_FOUND = _code("operator_not_found", NOT_FOUND, "No such operator")
WALLET_NOT_FOUND = _code("wallet_not_found", NOT_FOUND, "No such wallet")
TRANSFER_NOT_FOUND = _code("transfer_not_found", NOT_FOUND, "No such transfer")
# Idempotency
IDEMPOTENCY_KEY_REUSED = _code(
    "idempotency_key_reused", REFUSED, "Idempotency key reused with a different request"
)
IDEMPOTENCY_IN_FLIGHT = _code(
    "idempotency_request_in_flight",
    CONFLICT,
    "A request with this idempotency key is still in flight",
)
# Resources
OPERATOR_EXISTS = _code("operator_exists", CONFLICT, "An operator with this code exists")
# Ledger refusals
INSUFFICIENT_FUNDS = _code("insufficient_funds", REFUSED, "Insufficient funds in the wallet")
INSUFFICIENT_VAULT = _code(
    "insufficient_vault_funds", REFUSED, "Insufficient e-CNY in the operator's vault"
)
INSUFFICIENT_RESERVE = _code(
    "insufficient_reserve", REFUSED, "Insufficient reserve at the central bank"
)
INSUFFICIENT_POSITION = _code(
    "insufficient_position", REFUSED, "Insufficient e-CNY position at the central bank"
)
BATCH_TOO_LARGE = _code("batch_too_large", INVALID, "The batch has too many transfers")
for _field in ("from_wallet", "to_wallet", "amount", "reference"):
    _code(
        f"exists_with_different_{_field}",
        REFUSED,
        f"A transfer with this client id exists with a different {_field.replace('_', ' ')}",
    )
HOLD_NOT_FOUND = _code("hold_not_found", NOT_FOUND, "No such hold")
HOLD_EXPIRED = _code("hold_expired", REFUSED, "The hold has expired")
HOLD_ALREADY_RESOLVED = _code(
    "hold_already_resolved", CONFLICT, "The hold is already captured, voided or expired"
)
CAPTURE_EXCEEDS_HOLD = _code("capture_exceeds_hold", REFUSED, "A capture cannot exceed its hold")
# Programmable payments (docs/programmable.md)
HOLD_CONDITIONAL = _code(
    "hold_conditional",
    REFUSED,
    "A conditional payment completes by its condition, not by a capture",
)
HOLD_NOT_CONFIRMABLE = _code(
    "hold_not_confirmable", REFUSED, "The hold does not wait for a confirmation"
)
CAMPAIGN_NOT_FOUND = _code("campaign_not_found", NOT_FOUND, "No such red-envelope campaign")
CAMPAIGN_ENDED = _code(
    "campaign_ended", REFUSED, "The campaign has ended: its unspent money went back to the issuer"
)
CAMPAIGN_NOT_CLAIMABLE = _code(
    "campaign_not_claimable", REFUSED, "The campaign's envelopes are granted by list, not claimed"
)
ENVELOPES_EXHAUSTED = _code(
    "envelopes_exhausted", CONFLICT, "Every envelope of the campaign is granted already"
)
ENVELOPE_ALREADY_GRANTED = _code(
    "envelope_already_granted", CONFLICT, "The wallet holds an envelope of this campaign already"
)
REFUND_EXCEEDS_PAYMENT = _code(
    "refund_exceeds_payment", REFUSED, "Refunds would exceed the payment"
)
NOT_REFUNDABLE = _code("not_refundable", REFUSED, "Only payments and captures can be refunded")
WALLET_NOT_EMPTY = _code(
    "wallet_not_empty", CONFLICT, "The wallet still holds funds, holds or open sub-wallets"
)
INVALID_WALLET_TRANSITION = _code(
    "invalid_wallet_transition",
    CONFLICT,
    "The wallet cannot go to that status from its current one",
)
IF_MATCH_REQUIRED = _code(
    "if_match_required", PRECONDITION_REQUIRED, "Send If-Match with the wallet's ETag"
)
ETAG_MISMATCH = _code(
    "etag_mismatch", PRECONDITION_FAILED, "The resource changed since you read it (ETag mismatch)"
)
OPERATOR_NET_DEBIT_CAP_EXCEEDED = _code(
    "operator_net_debit_cap_exceeded",
    REFUSED,
    "The paying operator's net debit cap would be exceeded",
)
SETTLEMENT_WINDOW_HAS_ACTIVITY = _code(
    "settlement_window_has_activity",
    CONFLICT,
    "The open settlement window has transfers: close it first",
)
NO_OPEN_WINDOW = _code(
    "no_open_window", CONFLICT, "The sandbox settles gross: there is no settlement window"
)
WINDOW_NOT_FOUND = _code("window_not_found", NOT_FOUND, "No such settlement window")
WINDOW_NOT_SETTLED = _code(
    "window_not_settled", CONFLICT, "The window is not settled yet: no report"
)
LIMIT_EXCEEDED = _code("limit_exceeded", REFUSED, "A wallet-class limit would be exceeded")
SAME_WALLET = _code("same_wallet", REFUSED, "Payer and payee are the same wallet")
WALLET_FROZEN = _code("wallet_frozen", REFUSED, "The wallet is frozen")
WALLET_CLOSED = _code("wallet_closed", REFUSED, "The wallet is closed")
LINKED_TRANSFER_FAILED = _code(
    "linked_transfer_failed", REFUSED, "Another transfer of the linked chain failed"
)
RESERVE_RATIO_LOCKED = _code(
    "reserve_ratio_locked",
    CONFLICT,
    "The reserve ratio can only change while nothing is outstanding",
)
# Casinos and supervision (issue 5)
CASINO_NOT_FOUND = _code("casino_not_found", NOT_FOUND, "No such casino")
CASINO_EXISTS = _code("casino_exists", CONFLICT, "A casino with this reference exists")
CASINO_RULES_UNAVAILABLE = _code(
    "casino_rules_unavailable", CONFLICT, "The active rule profile has no casino rules"
)
INSUFFICIENT_CHIPS = _code(
    "insufficient_chips", REFUSED, "The player holds fewer chips than the operation needs"
)
UNDER_MINIMUM_AGE = _code("under_minimum_age", REFUSED, "The player is under the minimum age")
EXCLUDED_PERSON = _code("excluded_person", REFUSED, "The player is on the exclusion list")
IDENTIFIED_WALLET_REQUIRED = _code(
    "identified_wallet_required",
    REFUSED,
    "A casino transaction this large needs an identified wallet",
)
MAINLAND_WALLET_REFUSED = _code(
    "mainland_wallet_refused", REFUSED, "The rule profile refuses mainland wallets at casinos"
)
NOT_A_PLAYER = _code(
    "not_a_player",
    REFUSED,
    "A merchant, casino, treasury or government wallet never plays at a cage",
)
# Macau in depth (issue 20)
CHIPS_IN_CIRCULATION_EXCEEDED = _code(
    "chips_in_circulation_exceeded",
    REFUSED,
    "The buy-in would put more chips in circulation than DICJ approved for the casino",
)
AMOUNT_BELOW_CONVERSION = _code(
    "amount_below_conversion",
    REFUSED,
    "The amount converts to nothing in the other currency at the rate in force",
)
UNKNOWN_CONTRIBUTION = _code(
    "unknown_contribution",
    REFUSED,
    "A casino's beneficiary names no contribution of the active rule profile",
)
THIRD_PARTY_PAYOUT_REFUSED = _code(
    "third_party_payout_refused",
    REFUSED,
    "The rule profile refuses cash-outs paid to a wallet that did not buy in",
)
CREDIT_LINE_NOT_FOUND = _code(
    "credit_line_not_found", NOT_FOUND, "The player has no credit line at this casino"
)
CREDIT_LIMIT_EXCEEDED = _code(
    "credit_limit_exceeded", REFUSED, "The draw would pass the player's credit limit"
)
CREDIT_REPAYMENT_EXCEEDS_OUTSTANDING = _code(
    "credit_repayment_exceeds_outstanding",
    REFUSED,
    "The repayment is more than the credit outstanding",
)
PROMOTER_NOT_FOUND = _code("promoter_not_found", NOT_FOUND, "No such gaming promoter")
PROMOTER_COMMISSION_ABOVE_CAP = _code(
    "promoter_commission_above_cap",
    REFUSED,
    "A promoter's commission rate may not pass the cap on net rolling",
)
PROMOTER_OTHER_CONCESSIONAIRE = _code(
    "promoter_other_concessionaire",
    CONFLICT,
    "A gaming promoter works for one concessionaire only",
)
PLAYER_HAS_PROMOTER = _code(
    "player_has_promoter", CONFLICT, "The player is attached to another promoter at this casino"
)
# Payment codes: a wallet holder's consent to a cage debit
PAYMENT_CODE_REQUIRED = _code(
    "payment_code_required", REFUSED, "The rule profile makes a buy-in need a payment code"
)
PAYMENT_CODE_INVALID = _code("payment_code_invalid", REFUSED, "No such payment code")
PAYMENT_CODE_WALLET_MISMATCH = _code(
    "payment_code_wallet_mismatch", REFUSED, "The payment code was issued for another wallet"
)
PAYMENT_CODE_EXPIRED = _code("payment_code_expired", REFUSED, "The payment code has expired")
PAYMENT_CODE_USED = _code("payment_code_used", CONFLICT, "The payment code was used already")
PAYMENT_CODE_AMOUNT_EXCEEDED = _code(
    "payment_code_amount_exceeded", REFUSED, "The amount is above the payment code's cap"
)
GAMING_DAY_NOT_OVER = _code("gaming_day_not_over", CONFLICT, "The gaming day has not ended yet")
GAMING_DAY_ALREADY_CLOSED = _code(
    "gaming_day_already_closed", CONFLICT, "The gaming day is closed already"
)
GAMING_DAY_NOT_FOUND = _code("gaming_day_not_found", NOT_FOUND, "No closed gaming day of that date")
ALERT_NOT_FOUND = _code("alert_not_found", NOT_FOUND, "No such alert")
INVALID_ALERT_TRANSITION = _code(
    "invalid_alert_transition", CONFLICT, "The alert cannot go to that status from its current one"
)
EXCLUSION_NOT_FOUND = _code("exclusion_not_found", NOT_FOUND, "No such exclusion")
EXCLUSION_ALREADY_REVOKED = _code(
    "exclusion_already_revoked", CONFLICT, "The exclusion's revocation was requested already"
)
# Dual offline payments (docs/offline.md)
OFFLINE_PURSE_NOT_FOUND = _code("offline_purse_not_found", NOT_FOUND, "No such offline purse")
OFFLINE_PURSE_EXISTS = _code(
    "offline_purse_exists", CONFLICT, "The wallet has an offline purse that is not unloaded"
)
OFFLINE_DEVICE_KEY_IN_USE = _code(
    "offline_device_key_in_use", CONFLICT, "Another offline purse registered this device key"
)
OFFLINE_PURSE_CAP_EXCEEDED = _code(
    "offline_purse_cap_exceeded", REFUSED, "The load would take the purse above the profile's cap"
)
OFFLINE_PURSE_FROZEN = _code(
    "offline_purse_frozen", CONFLICT, "The offline purse is frozen after a double spend"
)
OFFLINE_PURSE_UNLOADED = _code(
    "offline_purse_unloaded", CONFLICT, "The offline purse is unloaded (or being unloaded)"
)
OFFLINE_SAME_PURSE = _code("offline_same_purse", REFUSED, "A purse cannot pay itself")
OFFLINE_BAD_SIGNATURE = _code(
    "offline_bad_signature", REFUSED, "The signature is not the purse's device key's"
)
OFFLINE_COUNTER_REUSED = _code(
    "offline_counter_reused",
    REFUSED,
    "Another voucher of the purse has this counter (a double spend): the lower voucher id stands",
)
OFFLINE_PURSE_OVERDRAWN = _code(
    "offline_purse_overdrawn",
    REFUSED,
    "The purse's vouchers up to this counter exceed what was loaded (a double spend)",
)
# API keys
# Managed anonymity (docs/anonymity.md)
IDENTITY_REVEAL_NOT_FOUND = _code("identity_reveal_not_found", NOT_FOUND, "No such identity reveal")
LEGAL_BASIS_NOT_ACCEPTED = _code(
    "legal_basis_not_accepted", REFUSED, "The rule profile does not accept this legal basis"
)
FOUR_EYES_REQUIRED = _code(
    "four_eyes_required",
    REFUSED,
    "An identity reveal is decided by a key of another role than its requester's",
)
IDENTITY_REVEAL_EXPIRED = _code(
    "identity_reveal_expired", CONFLICT, "The identity reveal was not approved in time"
)
INVALID_IDENTITY_REVEAL_TRANSITION = _code(
    "invalid_identity_reveal_transition",
    CONFLICT,
    "The identity reveal's status does not allow this",
)
NOT_THE_REQUESTER = _code(
    "not_the_requester", REFUSED, "Only the key that requested the identity reveal reads it"
)
API_KEY_NOT_FOUND = _code("api_key_not_found", NOT_FOUND, "No such API key")
API_KEY_ALREADY_REVOKED = _code(
    "api_key_already_revoked", CONFLICT, "The API key is revoked already"
)
# Infrastructure
BUSY = _code("busy", UNAVAILABLE, "The ledger is busy; retry the request")
# Audit
EXPORT_NOT_FOUND = _code("export_not_found", NOT_FOUND, "No such export job")
EXPORT_FILE_NOT_FOUND = _code(
    "export_file_not_found", NOT_FOUND, "The export job has no file of this name"
)
EXPORT_NOT_READY = _code("export_not_ready", CONFLICT, "The export job has not succeeded (yet)")
SIGNING_KEY_UNAVAILABLE = _code(
    "signing_key_unavailable", UNAVAILABLE, "The central bank's signing key cannot be read"
)
LEDGER_CHAIN_BROKEN = _code(
    "ledger_chain_broken",
    CONFLICT,
    "The journal's hash chain does not recompute: nothing is signed over it",
)

# Events and webhooks
WEBHOOK_ENDPOINT_NOT_FOUND = _code(
    "webhook_endpoint_not_found", NOT_FOUND, "No such webhook endpoint"
)
WEBHOOK_DELIVERY_NOT_FOUND = _code(
    "webhook_delivery_not_found", NOT_FOUND, "The webhook endpoint has no such delivery"
)
WEBHOOK_URL_NOT_ALLOWED = _code(
    "webhook_url_not_allowed",
    REFUSED,
    "The webhook URL's host is not in the sandbox's allow-list (ECNY_WEBHOOK_ALLOWED_HOSTS)",
)
WEBHOOK_ENDPOINT_ALREADY_DISABLED = _code(
    "webhook_endpoint_already_disabled", CONFLICT, "The webhook endpoint is disabled already"
)
WEBHOOK_ENDPOINT_ALREADY_ENABLED = _code(
    "webhook_endpoint_already_enabled", CONFLICT, "The webhook endpoint is enabled already"
)


STATUS_BY_CATEGORY = {
    INVALID: 400,
    UNAUTHENTICATED: 401,
    FORBIDDEN: 403,
    NOT_FOUND: 404,
    CONFLICT: 409,
    REFUSED: 422,
    PRECONDITION_FAILED: 412,
    PRECONDITION_REQUIRED: 428,
    UNAVAILABLE: 503,
}
STATUS_BY_CODE = {
    VALIDATION_FAILED: 422,
    UNSUPPORTED_MEDIA_TYPE: 415,
    METHOD_NOT_ALLOWED: 405,
    NOT_ACCEPTABLE: 406,
    PAYLOAD_TOO_LARGE: 413,
}


def status_of(code: str) -> int:
    """The HTTP status of a refusal with ``code``."""
    return STATUS_BY_CODE.get(code) or STATUS_BY_CATEGORY[CODES[code].category]


class DomainError(Exception):
    """A refusal with a stable code, a human detail and optional structured facts."""

    def __init__(self, code: str, detail: str | None = None, **extra: Any) -> None:
        if code not in CODES:
            raise KeyError(f"unregistered error code {code!r}")
        self.code = code
        self.category = CODES[code].category
        self.title = CODES[code].title
        self.detail = detail or self.title
        self.extra = extra
        super().__init__(f"{code}: {self.detail}")
