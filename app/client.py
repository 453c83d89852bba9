"""A small, typed Python client of the sandbox's HTTP API.

One method per API operation. The same interface works against a live server
(``Client.http(url, key)``, over ``requests``) and in-process
(``Client.in_process(app, key)``, over Flask's test client), so scenario
replays and tests always go through the real HTTP API. A problem response is
raised as :class:`ApiError` carrying its stable ``code``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wallets.events import signing
from wallets.ledger.money import format_amount, parse_amount
from wallets.retail import vouchers

JSON = Any


class ApiError(Exception):
    """An RFC 9457 problem answered by the API."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.problem = dict(problem)
        self.code: str = self.problem.get("code", f"http_{status}")
        super().__init__(f"{status} {self.code}: {self.problem.get('detail', '')}")


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: JSON


class Transport(Protocol):
    def send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        json_body: JSON,
        params: dict | None,
    ) -> Response: ...


@dataclass
class HttpTransport:
    base_url: str
    timeout: float = 30.0
    _session: Any = field(default=None, repr=False)

    def send(self, method, path, *, headers, json_body, params):
        import requests

        if self._session is None:
            self._session = requests.Session()
        r = self._session.request(
            method,
            self.base_url.rstrip("/") + path,
            headers=headers,
            data=None if json_body is None else json.dumps(json_body),
            params=params,
            timeout=self.timeout,
        )
        body = r.json() if r.content and "json" in r.headers.get("Content-Type", "") else r.text
        return Response(r.status_code, dict(r.headers), body)


@dataclass
class FlaskTransport:
    app: Any
    _client: Any = field(default=None, repr=False)

    def send(self, method, path, *, headers, json_body, params):
        if self._client is None:
            self._client = self.app.test_client()
        r = self._client.open(
            path,
            method=method,
            headers=headers,
            data=None if json_body is None else json.dumps(json_body),
            query_string=params,
        )
        body = (
            r.get_json(silent=True)
            if r.is_json or r.mimetype.endswith("+json")
            else r.get_data(as_text=True)
        )
        return Response(r.status_code, dict(r.headers), body)


class Client:
    """The sandbox's API; ``key`` is the API key every call is made with."""

    def __init__(self, transport: Transport, key: str | None = None) -> None:
        self.transport = transport
        self.key = key

    @classmethod
    def http(cls, url: str, key: str | None = None) -> Client:
        return cls(HttpTransport(url), key)

    @classmethod
    def in_process(cls, app: Any, key: str | None = None) -> Client:
        return cls(FlaskTransport(app), key)

    def with_key(self, key: str) -> Client:
        """The same server, another API key (another role or scope)."""
        return Client(self.transport, key)

    # ---- plumbing -----------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: JSON = None,
        *,
        params: dict | None = None,
        idempotency_key: str | None = None,
        if_match: str | None = None,
    ) -> Response:
        headers = {"Accept": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        if body is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if if_match:
            headers["If-Match"] = if_match
        params = {k: v for k, v in (params or {}).items() if v is not None} or None
        r = self.transport.send(method, path, headers=headers, json_body=body, params=params)
        if r.status >= 400:
            raise ApiError(
                r.status, r.body if isinstance(r.body, dict) else {"detail": str(r.body)}
            )
        return r

    def _json(self, method: str, path: str, body: JSON = None, **kw) -> JSON:
        return self.request(method, path, body, **kw).body

    @staticmethod
    def _drop_none(**values: Any) -> dict:
        return {k: v for k, v in values.items() if v is not None}

    # ---- sandbox ------------------------------------------------------------

    def health(self) -> JSON:
        return self._json("GET", "/healthz")

    def clock(self) -> JSON:
        return self._json("GET", "/v1/sandbox/clock")

    def set_clock(self, now: str, fixed: bool = True, **kw) -> JSON:
        return self._json("PUT", "/v1/sandbox/clock", {"now": now, "fixed": fixed}, **kw)

    def advance_clock(self, seconds: int, **kw) -> JSON:
        return self._json("POST", "/v1/sandbox/clock/advance", {"seconds": seconds}, **kw)

    def create_key(
        self, role: str, operator: str | None = None, casino: str | None = None, **kw
    ) -> JSON:
        return self._json(
            "POST", "/v1/keys", self._drop_none(role=role, operator=operator, casino=casino), **kw
        )

    # ---- operators and tier 1 -----------------------------------------------

    def create_operator(self, code: str, name: str, **kw) -> JSON:
        return self._json("POST", "/v1/operators", {"code": code, "name": name}, **kw)

    def operators(self, limit: int | None = None, after: str | None = None) -> JSON:
        return self._json("GET", "/v1/operators", params={"limit": limit, "after": after})

    def operator(self, code: str) -> JSON:
        return self._json("GET", f"/v1/operators/{code}")

    def deposit_reserve(self, code: str, amount: str, reference: str | None = None, **kw) -> JSON:
        body = self._drop_none(amount=amount, reference=reference)
        return self._json("POST", f"/v1/operators/{code}/reserve-deposits", body, **kw)

    def issue(self, code: str, amount: str, reference: str | None = None, **kw) -> JSON:
        return self._json(
            "POST",
            f"/v1/operators/{code}/issuances",
            self._drop_none(amount=amount, reference=reference),
            **kw,
        )

    def redeem(self, code: str, amount: str, reference: str | None = None, **kw) -> JSON:
        return self._json(
            "POST",
            f"/v1/operators/{code}/redemptions",
            self._drop_none(amount=amount, reference=reference),
            **kw,
        )

    def operator_limits(self, code: str) -> JSON:
        return self._json("GET", f"/v1/operators/{code}/limits")

    def set_operator_limits(self, code: str, wallet_class: int, **limits: str | None) -> JSON:
        return self._json("PUT", f"/v1/operators/{code}/limits/{wallet_class}", limits)

    # ---- wallets --------------------------------------------------------------

    def open_wallet(self, wallet_class: int, region: str, **attrs: Any) -> JSON:
        kw = {k: attrs.pop(k) for k in ("idempotency_key",) if k in attrs}
        return self._json(
            "POST", "/v1/wallets", {"wallet_class": wallet_class, "region": region, **attrs}, **kw
        )

    def wallets(
        self, operator: str | None = None, limit: int | None = None, after: str | None = None
    ) -> JSON:
        return self._json(
            "GET", "/v1/wallets", params={"operator": operator, "limit": limit, "after": after}
        )

    def wallet(self, wallet_id: int) -> JSON:
        return self._json("GET", f"/v1/wallets/{wallet_id}")

    def wallet_etag(self, wallet_id: int) -> str:
        return self.request("GET", f"/v1/wallets/{wallet_id}").headers["ETag"]

    def update_wallet(self, wallet_id: int, if_match: str, **changes: Any) -> JSON:
        return self._json("PATCH", f"/v1/wallets/{wallet_id}", changes, if_match=if_match)

    def freeze(self, wallet_id: int, **kw) -> JSON:
        return self._json("POST", f"/v1/wallets/{wallet_id}/freeze", **kw)

    def unfreeze(self, wallet_id: int, **kw) -> JSON:
        return self._json("POST", f"/v1/wallets/{wallet_id}/unfreeze", **kw)

    def close_wallet(self, wallet_id: int, **kw) -> JSON:
        return self._json("POST", f"/v1/wallets/{wallet_id}/close", **kw)

    def sweep(self, wallet_id: int, **kw) -> JSON:
        return self._json("POST", f"/v1/wallets/{wallet_id}/sweep", **kw)

    def balance(self, wallet_id: int) -> JSON:
        return self._json("GET", f"/v1/wallets/{wallet_id}/balance")

    def wallet_limits(self, wallet_id: int) -> JSON:
        return self._json("GET", f"/v1/wallets/{wallet_id}/limits")

    def statement(
        self, wallet_id: int, start: str | None = None, end: str | None = None, **page
    ) -> JSON:
        return self._json(
            "GET", f"/v1/wallets/{wallet_id}/statement", params={"from": start, "to": end, **page}
        )

    def fund(self, wallet_id: int, amount: str, reference: str | None = None, **kw) -> JSON:
        return self._json(
            "POST",
            f"/v1/wallets/{wallet_id}/fund",
            self._drop_none(amount=amount, reference=reference),
            **kw,
        )

    def defund(self, wallet_id: int, amount: str, reference: str | None = None, **kw) -> JSON:
        return self._json(
            "POST",
            f"/v1/wallets/{wallet_id}/defund",
            self._drop_none(amount=amount, reference=reference),
            **kw,
        )

    # ---- payments -------------------------------------------------------------

    def pay(
        self, from_wallet: int, to_wallet: int, amount: str, reference: str | None = None, **kw
    ) -> JSON:
        body = self._drop_none(
            from_wallet=from_wallet, to_wallet=to_wallet, amount=amount, reference=reference
        )
        return self._json("POST", "/v1/transfers", body, **kw)

    def batch(self, transfers: list[dict], **kw) -> JSON:
        return self._json("POST", "/v1/transfers/batch", {"transfers": transfers}, **kw)

    def transfer(self, transfer_id: int) -> JSON:
        return self._json("GET", f"/v1/transfers/{transfer_id}")

    def transfers(
        self, wallet: int | None = None, limit: int | None = None, after: str | None = None
    ) -> JSON:
        return self._json(
            "GET", "/v1/transfers", params={"wallet": wallet, "limit": limit, "after": after}
        )

    def refund(self, transfer_id: int, amount: str, reference: str | None = None, **kw) -> JSON:
        body = self._drop_none(amount=amount, reference=reference)
        return self._json("POST", f"/v1/transfers/{transfer_id}/refunds", body, **kw)

    def hold(
        self,
        from_wallet: int,
        to_wallet: int,
        amount: str,
        timeout_seconds: int | None = None,
        **kw,
    ) -> JSON:
        body = self._drop_none(
            from_wallet=from_wallet,
            to_wallet=to_wallet,
            amount=amount,
            timeout_seconds=timeout_seconds,
            reference=kw.pop("reference", None),
            condition=kw.pop("condition", None),
            confirmer_wallet=kw.pop("confirmer_wallet", None),
        )
        return self._json("POST", "/v1/holds", body, **kw)

    def conditional_payment(
        self,
        from_wallet: int,
        to_wallet: int,
        amount: str,
        timeout_seconds: int,
        confirmer_wallet: int | None = None,
        **kw,
    ) -> JSON:
        """A payment that completes at ``timeout_seconds`` of sandbox time from
        now, or, with ``confirmer_wallet``, when that wallet's operator confirms
        it before then (docs/programmable.md)."""
        return self.hold(
            from_wallet,
            to_wallet,
            amount,
            timeout_seconds,
            condition="time" if confirmer_wallet is None else "confirmation",
            confirmer_wallet=confirmer_wallet,
            **kw,
        )

    def confirm(self, hold_id: int, **kw) -> JSON:
        return self._json("POST", f"/v1/holds/{hold_id}/confirm", **kw)

    def capture(self, hold_id: int, amount: str | None = None, **kw) -> JSON:
        return self._json(
            "POST", f"/v1/holds/{hold_id}/capture", self._drop_none(amount=amount), **kw
        )

    def void(self, hold_id: int, **kw) -> JSON:
        return self._json("POST", f"/v1/holds/{hold_id}/void", **kw)

    def get_hold(self, hold_id: int) -> JSON:
        return self._json("GET", f"/v1/holds/{hold_id}")

    # ---- red envelopes (docs/programmable.md) --------------------------------

    def create_campaign(
        self,
        issuer_wallet: int,
        name: str,
        amount: str,
        envelopes: int,
        valid_until: str,
        *,
        valid_from: str | None = None,
        claimable: bool = False,
        regions: list[str] | None = None,
        merchant_categories: list[str] | None = None,
        min_payment: str | None = None,
        **kw,
    ) -> JSON:
        body = self._drop_none(
            issuer_wallet=issuer_wallet,
            name=name,
            amount=amount,
            envelopes=envelopes,
            valid_from=valid_from,
            valid_until=valid_until,
            claimable=claimable,
            regions=regions,
            merchant_categories=merchant_categories,
            min_payment=min_payment,
        )
        return self._json("POST", "/v1/envelope-campaigns", body, **kw)

    def campaign(self, campaign_id: int) -> JSON:
        return self._json("GET", f"/v1/envelope-campaigns/{campaign_id}")

    def campaign_report(self, campaign_id: int) -> JSON:
        return self._json("GET", f"/v1/envelope-campaigns/{campaign_id}/report")

    def grant_envelopes(self, campaign_id: int, wallets: list[int], **kw) -> JSON:
        return self._json(
            "POST", f"/v1/envelope-campaigns/{campaign_id}/grants", {"wallets": wallets}, **kw
        )

    def claim_envelope(self, campaign_id: int, wallet: int, **kw) -> JSON:
        return self._json(
            "POST", f"/v1/envelope-campaigns/{campaign_id}/claims", {"wallet": wallet}, **kw
        )

    def envelopes(self, wallet_id: int) -> JSON:
        return self._json("GET", f"/v1/wallets/{wallet_id}/envelopes")

    # ---- dual offline payments (docs/offline.md) ----------------------------------

    def open_purse(self, wallet: int, device_key: str, amount: str, **kw) -> JSON:
        """Register a device's offline purse (``OfflineDevice.device_key``) and load it."""
        body = {"wallet": wallet, "device_key": device_key, "amount": amount}
        return self._json("POST", "/v1/offline/purses", body, **kw)

    def purse(self, purse_id: int) -> JSON:
        return self._json("GET", f"/v1/offline/purses/{purse_id}")

    def purses(self, wallet: int, limit: int | None = None, after: str | None = None) -> JSON:
        return self._json(
            "GET", "/v1/offline/purses", params={"wallet": wallet, "limit": limit, "after": after}
        )

    def purse_vouchers(
        self, purse_id: int, limit: int | None = None, after: str | None = None
    ) -> JSON:
        return self._json(
            "GET",
            f"/v1/offline/purses/{purse_id}/vouchers",
            params={"limit": limit, "after": after},
        )

    def load_purse(self, purse_id: int, amount: str, **kw) -> JSON:
        return self._json("POST", f"/v1/offline/purses/{purse_id}/loads", {"amount": amount}, **kw)

    def unload_purse(self, purse_id: int, statement: dict | None = None, **kw) -> JSON:
        """``statement``: the device's ``unload_statement()`` (at once when every
        voucher is synced), or None (after the profile's waiting period)."""
        return self._json("POST", f"/v1/offline/purses/{purse_id}/unload", statement or {}, **kw)

    def sync_vouchers(self, vouchers: list[dict], **kw) -> JSON:
        """Upload vouchers (``OfflineDevice.pay``'s) from either side."""
        return self._json("POST", "/v1/offline/sync", {"vouchers": vouchers}, **kw)

    # ---- settlement -----------------------------------------------------------

    def settlement_settings(self) -> JSON:
        return self._json("GET", "/v1/settlement/settings")

    def update_settlement_settings(self, **settings: Any) -> JSON:
        return self._json("PUT", "/v1/settlement/settings", settings)

    def current_window(self) -> JSON:
        return self._json("GET", "/v1/settlement/windows/current")

    def close_window(self, **kw) -> JSON:
        return self._json("POST", "/v1/settlement/windows/current/close", **kw)

    def windows(self, limit: int | None = None, after: str | None = None) -> JSON:
        return self._json("GET", "/v1/settlement/windows", params={"limit": limit, "after": after})

    def settlement_report(self, window_id: int) -> JSON:
        return self._json("GET", f"/v1/settlement/windows/{window_id}/report")

    def set_net_debit_cap(self, code: str, amount: str | None) -> JSON:
        return self._json(
            "PUT", f"/v1/settlement/operators/{code}/net-debit-cap", {"net_debit_cap": amount}
        )

    # ---- audit ----------------------------------------------------------------

    def reconciliation(self) -> JSON:
        return self._json("GET", "/v1/audit/reconciliation")

    def digest(self) -> JSON:
        return self._json("GET", "/v1/audit/digest")

    # ---- rules and the sandbox profile ------------------------------------------

    def rules(self) -> JSON:
        return self._json("GET", "/v1/rules")

    def select_profile(self, name: str | None = None, document: dict | None = None) -> JSON:
        """A shipped profile by ``name`` or a ``document`` of one's own."""
        return self._json(
            "PUT", "/v1/sandbox/profile", self._drop_none(name=name, document=document)
        )

    # ---- casinos and the cage ---------------------------------------------------

    def register_casino(
        self,
        ref: str,
        name: str,
        treasury_wallet: int,
        float_amount: str,
        operator: str | None = None,
        merchant_wallet: int | None = None,
        supervisors: list[int] | None = None,
        beneficiaries: dict[str, int] | None = None,
        chips_approved: str | None = None,
        chip_currency: str | None = None,
        **kw,
    ) -> JSON:
        body = self._drop_none(
            chip_currency=chip_currency,
            ref=ref,
            name=name,
            operator=operator,
            merchant_wallet=merchant_wallet,
            treasury_wallet=treasury_wallet,
            supervisors=supervisors,
            beneficiaries=beneficiaries or None,
            chips_approved=chips_approved,
        )
        body["float"] = float_amount
        return self._json("POST", "/v1/casinos", body, **kw)

    def casinos(self, limit: int | None = None, after: str | None = None) -> JSON:
        return self._json("GET", "/v1/casinos", params={"limit": limit, "after": after})

    def casino(self, ref: str) -> JSON:
        return self._json("GET", f"/v1/casinos/{ref}")

    def issue_payment_code(self, wallet_id: int, max_amount: str | None = None, **kw) -> JSON:
        """A one-time payment code of the wallet: its holder's consent to a buy-in
        (operator key of the wallet's operator, or admin)."""
        body = self._drop_none(max_amount=max_amount)
        return self._json("POST", f"/v1/wallets/{wallet_id}/payment-codes", body, **kw)

    def buy_in(
        self,
        casino: str,
        player: int,
        amount: str,
        reference: str | None = None,
        payment_code: str | None = None,
        **kw,
    ) -> JSON:
        body = self._drop_none(
            player=player, amount=amount, reference=reference, payment_code=payment_code
        )
        return self._json("POST", f"/v1/casinos/{casino}/buy-ins", body, **kw)

    def play(
        self,
        casino: str,
        player: int,
        wager: str,
        payout: str | None = None,
        reference: str | None = None,
        **kw,
    ) -> JSON:
        body = self._drop_none(player=player, wager=wager, payout=payout, reference=reference)
        return self._json("POST", f"/v1/casinos/{casino}/plays", body, **kw)

    def cash_out(
        self,
        casino: str,
        player: int,
        amount: str,
        reference: str | None = None,
        pay_to: int | None = None,
        **kw,
    ) -> JSON:
        body = self._drop_none(player=player, amount=amount, reference=reference, pay_to=pay_to)
        return self._json("POST", f"/v1/casinos/{casino}/cash-outs", body, **kw)

    def casino_transactions(self, casino: str, **args: Any) -> JSON:
        return self._json("GET", f"/v1/casinos/{casino}/transactions", params=args)

    def player_days(self, casino: str, gaming_day: str | None = None, **page: Any) -> JSON:
        return self._json(
            "GET", f"/v1/casinos/{casino}/players", params={"gaming_day": gaming_day, **page}
        )

    def register_promoter(
        self,
        casino: str,
        licence: str,
        wallet: int,
        commission_rate: str,
        name: str | None = None,
        **kw,
    ) -> JSON:
        body = {
            "licence": licence,
            "name": name or licence,
            "wallet": wallet,
            "commission_rate": commission_rate,
        }
        return self._json("POST", f"/v1/casinos/{casino}/promoters", body, **kw)

    def attach_promoter_player(self, casino: str, licence: str, player: int, **kw) -> JSON:
        path = f"/v1/casinos/{casino}/promoters/{licence}/players"
        return self._json("POST", path, {"player": player}, **kw)

    def hand_over_chips(
        self, casino: str, from_player: int, to_player: int, amount: str, **kw
    ) -> JSON:
        body = {"from_player": from_player, "to_player": to_player, "amount": amount}
        return self._json("POST", f"/v1/casinos/{casino}/chip-handovers", body, **kw)

    def set_credit_line(self, casino: str, player: int, limit: str, **kw) -> JSON:
        path = f"/v1/casinos/{casino}/credit-lines/{player}"
        return self._json("PUT", path, {"limit": limit}, **kw)

    def draw_credit(self, casino: str, player: int, amount: str, **kw) -> JSON:
        body = {"player": player, "amount": amount}
        return self._json("POST", f"/v1/casinos/{casino}/credit-draws", body, **kw)

    def repay_credit(
        self, casino: str, player: int, amount: str, payment_code: str | None = None, **kw
    ) -> JSON:
        body = self._drop_none(player=player, amount=amount, payment_code=payment_code)
        return self._json("POST", f"/v1/casinos/{casino}/credit-repayments", body, **kw)

    def set_chips_approval(self, casino: str, chips_approved: str | None, **kw) -> JSON:
        return self._json(
            "PUT",
            f"/v1/casinos/{casino}/chips-approval",
            {"chips_approved": chips_approved},
            **kw,
        )

    def close_gaming_day(self, casino: str, date: str, **kw) -> JSON:
        return self._json("POST", f"/v1/casinos/{casino}/gaming-days/{date}/close", **kw)

    def gaming_days(self, casino: str, **args: Any) -> JSON:
        return self._json("GET", f"/v1/casinos/{casino}/gaming-days", params=args)

    def gaming_day(self, casino: str, date: str) -> JSON:
        return self._json("GET", f"/v1/casinos/{casino}/gaming-days/{date}")

    # ---- alerts -----------------------------------------------------------------

    def alerts(
        self,
        casino: str | None = None,
        type: str | None = None,
        status: str | None = None,
        wallet: int | None = None,
        overdue: bool | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> JSON:
        params = {
            "casino": casino,
            "type": type,
            "status": status,
            "wallet": wallet,
            "overdue": None if overdue is None else str(overdue).lower(),
            "limit": limit,
            "after": after,
        }
        return self._json("GET", "/v1/alerts", params=params)

    def all_alerts(self, **filters: Any) -> list[JSON]:
        """Every alert the key sees."""
        return self.every(self.alerts, **filters)

    @staticmethod
    def every(list_call: Any, *args: Any, **filters: Any) -> list[JSON]:
        """Every item of a paginated list operation, following its cursor:
        ``client.every(client.windows)``, ``client.every(client.gaming_days, "COTAI")``."""
        items: list[JSON] = []
        after = None
        while True:
            page = list_call(*args, limit=500, after=after, **filters)
            items.extend(page["items"])
            after = page.get("next_after")
            if not after or not page["items"]:
                return items

    def alert(self, alert_id: int) -> JSON:
        return self._json("GET", f"/v1/alerts/{alert_id}")

    def acknowledge_alert(self, alert_id: int, **kw) -> JSON:
        return self._json("POST", f"/v1/alerts/{alert_id}/acknowledge", **kw)

    def escalate_alert(self, alert_id: int, note: str | None = None, **kw) -> JSON:
        return self._json(
            "POST", f"/v1/alerts/{alert_id}/escalate", self._drop_none(note=note), **kw
        )

    def dismiss_alert(self, alert_id: int, reason: str, **kw) -> JSON:
        return self._json("POST", f"/v1/alerts/{alert_id}/dismiss", {"reason": reason}, **kw)

    # ---- the exclusion list -----------------------------------------------------

    def add_exclusion(
        self,
        holder_id: str,
        kind: str,
        ends_on: str,
        starts_on: str | None = None,
        casino: str | None = None,
        **kw,
    ) -> JSON:
        body = self._drop_none(
            holder_id=holder_id, kind=kind, ends_on=ends_on, starts_on=starts_on, casino=casino
        )
        return self._json("POST", "/v1/exclusions", body, **kw)

    def exclusions(self, holder_id: str | None = None, **page: Any) -> JSON:
        return self._json("GET", "/v1/exclusions", params={"holder_id": holder_id, **page})

    def revoke_exclusion(self, exclusion_id: int, **kw) -> JSON:
        return self._json("POST", f"/v1/exclusions/{exclusion_id}/revoke", **kw)

    # ---- managed anonymity (docs/anonymity.md) -----------------------------------

    def request_identity_reveal(
        self, wallet_id: int, legal_basis: str, case_reference: str, **kw
    ) -> JSON:
        body = {"legal_basis": legal_basis, "case_reference": case_reference}
        return self._json("POST", f"/v1/wallets/{wallet_id}/identity-reveals", body, **kw)

    def approve_identity_reveal(self, reveal_id: int, **kw) -> JSON:
        return self._json("POST", f"/v1/identity-reveals/{reveal_id}/approve", **kw)

    def reject_identity_reveal(self, reveal_id: int, reason: str | None = None, **kw) -> JSON:
        body = self._drop_none(reason=reason)
        return self._json("POST", f"/v1/identity-reveals/{reveal_id}/reject", body, **kw)

    def read_identity_reveal(self, reveal_id: int, **kw) -> JSON:
        """The identity, once, to the key that requested the reveal."""
        return self._json("POST", f"/v1/identity-reveals/{reveal_id}/read", **kw)

    def identity_reveal(self, reveal_id: int) -> JSON:
        return self._json("GET", f"/v1/identity-reveals/{reveal_id}")

    def identity_reveals(self, wallet: int | None = None, **page: Any) -> JSON:
        return self._json("GET", "/v1/identity-reveals", params={"wallet": wallet, **page})

    def wallet_aggregates(self) -> JSON:
        return self._json("GET", "/v1/wallet-aggregates")

    # ---- events and webhooks (docs/events.md) -----------------------------------

    def events(
        self,
        type: str | list[str] | None = None,
        limit: int | None = None,
        after: str | int | None = None,
    ) -> JSON:
        """A page of the event feed, oldest first; ``type``: one type or several."""
        types = ",".join(type) if isinstance(type, list) else type
        return self._json(
            "GET", "/v1/events", params={"type": types, "limit": limit, "after": after}
        )

    def all_events(self, **filters: Any) -> list[JSON]:
        """Every event the key sees (``every`` over the feed)."""
        return self.every(self.events, **filters)

    def create_webhook_endpoint(
        self,
        url: str,
        event_types: list[str] | None = None,
        description: str | None = None,
        **kw,
    ) -> JSON:
        """A new endpoint; its ``secret`` is in this answer only."""
        body = self._drop_none(url=url, event_types=event_types, description=description)
        return self._json("POST", "/v1/webhook-endpoints", body, **kw)

    def webhook_endpoints(self, limit: int | None = None, after: str | None = None) -> JSON:
        return self._json("GET", "/v1/webhook-endpoints", params={"limit": limit, "after": after})

    def webhook_endpoint(self, endpoint_id: int) -> JSON:
        return self._json("GET", f"/v1/webhook-endpoints/{endpoint_id}")

    def disable_webhook_endpoint(self, endpoint_id: int, **kw) -> JSON:
        return self._json("POST", f"/v1/webhook-endpoints/{endpoint_id}/disable", **kw)

    def enable_webhook_endpoint(self, endpoint_id: int, **kw) -> JSON:
        return self._json("POST", f"/v1/webhook-endpoints/{endpoint_id}/enable", **kw)

    def rotate_webhook_secret(self, endpoint_id: int, **kw) -> JSON:
        return self._json("POST", f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret", **kw)

    def webhook_deliveries(
        self,
        endpoint_id: int,
        status: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> JSON:
        return self._json(
            "GET",
            f"/v1/webhook-endpoints/{endpoint_id}/deliveries",
            params={"status": status, "limit": limit, "after": after},
        )

    def redeliver_webhook(self, endpoint_id: int, delivery_id: int, **kw) -> JSON:
        return self._json(
            "POST",
            f"/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver",
            **kw,
        )


class OfflineDevice:
    """The device side of an offline purse (a hardware wallet), pure Python and
    without a server: its Ed25519 key and its monotonic counter. It makes the
    signed payment vouchers another purse accepts offline, and the statement
    of its last counter that lets its purse be unloaded at once
    (docs/offline.md). ``purse_id``: the purse's id once registered
    (``Client.open_purse(wallet, device.device_key, amount)["id"]``)."""

    def __init__(self, private_key: Any = None, purse_id: int | None = None, counter: int = 0):
        self.private_key = private_key or Ed25519PrivateKey.generate()
        self.purse_id = purse_id
        self.counter = counter

    @classmethod
    def from_seed(cls, seed: bytes, purse_id: int | None = None) -> OfflineDevice:
        """A device whose key is the Ed25519 key of a 32-byte seed (repeatable tests)."""
        return cls(Ed25519PrivateKey.from_private_bytes(seed), purse_id)

    @property
    def device_key(self) -> str:
        """The public key to register: its 32 bytes in base64."""
        return vouchers.public_key_text(self.private_key)

    def pay(self, payee: int, amount: str, at: datetime | str) -> dict:
        """The next voucher: the counter goes up by one, as a device's does."""
        made = self.voucher(payee, amount, self.counter + 1, at)
        self.counter += 1
        return made

    def voucher(self, payee: int, amount: str, counter: int, at: datetime | str) -> dict:
        """A voucher with any counter (what a tampered device would sign)."""
        if self.purse_id is None:
            raise ValueError("the device's purse is not registered yet (purse_id)")
        when = vouchers.parse_time(at) if isinstance(at, str) else at
        message = vouchers.voucher_message(
            self.purse_id, payee, parse_amount(amount), counter, when
        )
        return {
            "payer": self.purse_id,
            "payee": payee,
            "amount": format_amount(parse_amount(amount)),
            "counter": counter,
            "time": vouchers.format_time(when),
            "signature": vouchers.sign(self.private_key, message),
        }

    def unload_statement(self) -> dict:
        """The device's last counter, signed: ``Client.unload_purse``'s statement."""
        if self.purse_id is None:
            raise ValueError("the device's purse is not registered yet (purse_id)")
        message = vouchers.unload_message(self.purse_id, self.counter)
        return {"counter": self.counter, "signature": vouchers.sign(self.private_key, message)}


def verify_webhook(
    secret: str, body: bytes | str, headers: Mapping[str, str], now: Any = None
) -> JSON:
    """Check a webhook the sandbox sent to your receiver, and return its event.

    ``body``: the request's raw bytes, as received (not parsed and dumped
    again); ``headers``: its headers (any case); ``secret``: the endpoint's
    ``whsec_...``. Raises ``standardwebhooks.webhooks.WebhookVerificationError``
    when the signature does not match or the ``webhook-timestamp`` is more
    than five minutes from ``now`` (a datetime; default: the wall clock)."""
    signing.verify(secret, body, headers, now)
    return json.loads(body)
