"""Programmable payments through the API: red envelopes and conditional
payments (docs/programmable.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from wallets.core import errors
from wallets.core.principal import SYSTEM
from wallets.core.schema import accounts
from wallets.retail import campaigns


def advance(sb, seconds: int) -> None:
    sb.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": seconds}, status=200)


def now(sb) -> str:
    return sb.ok("GET", "/v1/sandbox/clock")["now"]


def later(sb, seconds: int) -> str:
    return (datetime.fromisoformat(now(sb)) + timedelta(seconds=seconds)).isoformat()


@pytest.fixture
def town(sandbox):
    """ICBC and BOC; a district's government wallet (the issuer), two
    residents, merchants in and out of the campaign's conditions."""
    sb = sandbox
    sb.operator("ICBC")
    sb.operator("BOC")
    sb.ok(
        "PUT",
        "/v1/sandbox/clock",
        json={"now": "2026-03-02T09:00:00+08:00", "fixed": True},
        status=200,
    )
    w = {
        "gov": sb.wallet("ICBC", 1, fund="100000.00", kind="merchant", label="district"),
        "ann": sb.wallet("ICBC", 2, fund="500.00"),
        "bob": sb.wallet("BOC", 4, fund="100.00"),
        "noodles": sb.wallet("ICBC", 2, kind="merchant", merchant_category="catering"),
        "market": sb.wallet("BOC", 2, kind="merchant", merchant_category="supermarket"),
        "far": sb.wallet("BOC", 2, kind="merchant", merchant_category="catering", region="HK"),
        "courier": sb.wallet("BOC", 1, kind="merchant", merchant_category="transport"),
    }
    sb.town = w
    return sb


def campaign(sb, **more):
    body = {
        "issuer_wallet": sb.town["gov"],
        "name": "Luohu consumption vouchers",
        "amount": "200.00",
        "envelopes": 3,
        "valid_until": later(sb, 7 * 86400),
        "regions": ["CN"],
        "merchant_categories": ["catering", "supermarket"],
        **more,
    }
    return sb.ok("POST", "/v1/envelope-campaigns", key="ICBC", json=body)


def pay(sb, src, dst, amount, key, status=201):
    return sb.ok(
        "POST",
        "/v1/transfers",
        key=key,
        json={"from_wallet": src, "to_wallet": dst, "amount": amount},
        status=status,
    )


def escrow(sb, c) -> str:
    return sb.ok("GET", f"/v1/envelope-campaigns/{c['id']}")["escrow"]


def test_campaign_reserves_grants_spends_first_and_returns_at_expiry(town):
    sb, w = town, town.town
    c = campaign(sb)
    assert c["escrow"] == "600.00" and c["escrow_account"] == f"ENV:{c['id']}"
    assert sb.ok("GET", f"/v1/wallets/{w['gov']}/balance")["available"] == "99400.00"
    grants = sb.ok(
        "POST",
        f"/v1/envelope-campaigns/{c['id']}/grants",
        key="ICBC",
        json={"wallets": [w["ann"], w["bob"]]},
    )["items"]
    assert [(g["wallet"], g["left"], g["source"]) for g in grants] == [
        (w["ann"], "200.00", "granted"),
        (w["bob"], "200.00", "granted"),
    ]
    # ann pays the noodle shop 150: all of it from her envelope.
    t = pay(sb, w["ann"], w["noodles"], "150.00", "ICBC")
    assert t["kind"] == "payment" and t["amount"] == "150.00"
    assert [(e["debit_account"], e["credit_account"], e["amount"]) for e in t["entries"]] == [
        (f"ENV:{c['id']}", f"W:{w['noodles']}:ECNY", "150.00")
    ]
    assert sb.balance(w["ann"]) == "500.00"
    # then 100 more: 50 from the envelope, 50 from her wallet.
    t = pay(sb, w["ann"], w["noodles"], "100.00", "ICBC")
    assert sorted((e["debit_account"], e["amount"]) for e in t["entries"]) == [
        (f"ENV:{c['id']}", "50.00"),
        (f"W:{w['ann']}:ECNY", "50.00"),
    ]
    assert sb.balance(w["ann"]) == "450.00"
    # Outside the conditions: a person, a merchant of another region: her wallet pays.
    t = pay(sb, w["ann"], w["far"], "10.00", "ICBC")
    assert [e["debit_account"] for e in t["entries"]][0] == f"W:{w['ann']}:ECNY"
    # bob (BOC, class 4) at BOC's supermarket: across operators from ICBC's escrow.
    t = pay(sb, w["bob"], w["market"], "30.00", "BOC")
    assert t["entries"][0]["debit_account"] == f"ENV:{c['id']}"
    assert sb.balance(w["bob"]) == "100.00" and sb.balance(w["market"]) == "30.00"
    assert escrow(sb, c) == "370.00"  # 600 - 200 - 30
    report = sb.ok("GET", f"/v1/envelope-campaigns/{c['id']}/report", key="ICBC")
    assert report["spent"] == "230.00" and report["granted_unspent"] == "170.00"
    assert report["ungranted"] == "200.00" and report["granted_amount"] == "400.00"
    assert report["merchants"] == [
        {"wallet": w["noodles"], "payments": 2, "amount": "200.00"},
        {"wallet": w["market"], "payments": 1, "amount": "30.00"},
    ]
    # The envelope money is not refundable: only the 50.00 ann paid herself.
    r = sb.post(f"/v1/transfers/{t['id']}/refunds", {"amount": "1.00"}, key="BOC")
    assert r.get_json()["code"] == errors.REFUND_EXCEEDS_PAYMENT
    # A week on: the campaign ends, the 370.00 goes back to the issuer.
    advance(sb, 7 * 86400)
    c = sb.ok("GET", f"/v1/envelope-campaigns/{c['id']}")
    assert (c["status"], c["escrow"], c["returned"]) == ("ended", "0.00", "370.00")
    events = sb.ok("GET", "/v1/events", key="ICBC", query_string={"limit": 500})["items"]
    (ended,) = [e for e in events if e["type"] == "envelope_campaign.ended"]
    assert ended["data"] == c
    (back,) = [
        e["data"]
        for e in events
        if e["type"] == "transfer.posted" and e["data"]["kind"] == "envelope_return"
    ]
    assert (back["amount"], back["to_wallet"]) == ("370.00", w["gov"])
    assert sb.ok("GET", f"/v1/wallets/{w['gov']}/balance")["available"] == "99770.00"
    envs = sb.ok("GET", f"/v1/wallets/{w['bob']}/envelopes", key="BOC")["items"]
    assert [(e["spent"], e["left"], e["campaign_status"]) for e in envs] == [
        ("30.00", "0.00", "ended")
    ]
    # After the end, a payment takes nothing from an envelope.
    t = pay(sb, w["bob"], w["market"], "10.00", "BOC")
    assert t["entries"][0]["debit_account"] == f"W:{w['bob']}:ECNY"


def test_claims_first_come_and_refusals(town):
    sb, w = town, town.town
    c = campaign(sb, envelopes=1, claimable=True)
    path = f"/v1/envelope-campaigns/{c['id']}/claims"
    assert sb.ok("POST", path, key="BOC", json={"wallet": w["bob"]})["source"] == "claimed"
    r = sb.post(path, {"wallet": w["ann"]}, key="ICBC")
    assert (r.status_code, r.get_json()["code"]) == (409, errors.ENVELOPES_EXHAUSTED)
    r = sb.post(path, {"wallet": w["ann"]}, key="BOC")  # not BOC's wallet
    assert r.get_json()["code"] == errors.WALLET_NOT_FOUND
    c2 = campaign(sb)
    r = sb.post(f"/v1/envelope-campaigns/{c2['id']}/claims", {"wallet": w["ann"]}, key="ICBC")
    assert r.get_json()["code"] == errors.CAMPAIGN_NOT_CLAIMABLE
    grants = f"/v1/envelope-campaigns/{c2['id']}/grants"
    r = sb.post(grants, {"wallets": [w["ann"]]}, key="BOC")  # not the issuer's operator
    assert r.get_json()["code"] == errors.CAMPAIGN_NOT_FOUND
    sb.ok("POST", grants, key="ICBC", json={"wallets": [w["ann"]]})
    r = sb.post(grants, {"wallets": [w["bob"], w["ann"]]}, key="ICBC")
    assert r.get_json()["code"] == errors.ENVELOPE_ALREADY_GRANTED
    r = sb.post(grants, {"wallets": [w["gov"]]}, key="ICBC")
    assert r.get_json()["code"] == errors.VALIDATION_FAILED
    # A person cannot issue; a category outside the list is refused.
    r = sb.post("/v1/envelope-campaigns", {**_body(sb), "issuer_wallet": w["ann"]}, key="ICBC")
    assert r.get_json()["code"] == errors.VALIDATION_FAILED
    r = sb.post(
        "/v1/envelope-campaigns", {**_body(sb), "merchant_categories": ["casino"]}, key="ICBC"
    )
    assert r.status_code == 422
    # More than any amount: refused as invalid, not a database error.
    r = sb.post(
        "/v1/envelope-campaigns",
        {**_body(sb), "amount": "1000000000000.00", "envelopes": 1000000},
        key="ICBC",
    )
    assert (r.status_code, r.get_json()["code"]) == (422, errors.VALIDATION_FAILED)
    assert "envelopes" in r.get_json()["errors"]
    # More than the issuer holds: nothing written.
    r = sb.post("/v1/envelope-campaigns", {**_body(sb), "envelopes": 1000}, key="ICBC")
    assert r.get_json()["code"] == errors.INSUFFICIENT_FUNDS
    with sb.db.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).where(accounts.c.kind == "envelopes")).scalar()
            == 2
        )


def _body(sb):
    return {
        "issuer_wallet": sb.town["gov"],
        "name": "vouchers",
        "amount": "200.00",
        "envelopes": 2,
        "valid_until": later(sb, 86400),
    }


def test_min_payment_and_class_limits_apply(town):
    sb, w = town, town.town
    c = campaign(sb, min_payment="50.00", amount="2000.00", envelopes=1)
    sb.ok(
        "POST", f"/v1/envelope-campaigns/{c['id']}/grants", key="ICBC", json={"wallets": [w["bob"]]}
    )
    # Below the minimum: the wallet pays.
    t = pay(sb, w["bob"], w["market"], "20.00", "BOC")
    assert t["entries"][0]["debit_account"] == f"W:{w['bob']}:ECNY"
    # A class 4 wallet's single payment cap (2,000) counts the whole payment,
    # envelope money included.
    r = sb.post(
        "/v1/transfers",
        {"from_wallet": w["bob"], "to_wallet": w["market"], "amount": "2000.01"},
        key="BOC",
    )
    assert r.get_json()["code"] == errors.LIMIT_EXCEEDED
    t = pay(sb, w["bob"], w["market"], "1990.00", "BOC")
    assert escrow(sb, c) == "10.00"


def test_conditional_payments(town):
    sb, w = town, town.town
    body = {"from_wallet": w["ann"], "to_wallet": w["noodles"], "amount": "40.00"}
    timed = sb.ok(
        "POST", "/v1/holds", key="ICBC", json={**body, "condition": "time", "timeout_seconds": 3600}
    )
    assert timed["condition"] == "time" and timed["status"] == "pending"
    r = sb.post(f"/v1/holds/{timed['id']}/capture", {}, key="ICBC")
    assert r.get_json()["code"] == errors.HOLD_CONDITIONAL
    confirmed = sb.ok(
        "POST",
        "/v1/holds",
        key="ICBC",
        json={
            **body,
            "condition": "confirmation",
            "confirmer_wallet": w["courier"],
            "timeout_seconds": 7200,
        },
    )
    unconfirmed = sb.ok(
        "POST",
        "/v1/holds",
        key="ICBC",
        json={
            **body,
            "condition": "confirmation",
            "confirmer_wallet": w["courier"],
            "timeout_seconds": 7200,
        },
    )
    cancelled = sb.ok("POST", "/v1/holds", key="ICBC", json={**body, "condition": "time"})
    assert sb.ok("GET", f"/v1/wallets/{w['ann']}/balance")["held"] == "160.00"
    # Only the courier's operator (BOC) confirms; ICBC (the parties') cannot.
    r = sb.post(f"/v1/holds/{confirmed['id']}/confirm", key="ICBC")
    assert r.get_json()["code"] == errors.HOLD_NOT_FOUND
    r = sb.post(f"/v1/holds/{timed['id']}/confirm", key="ICBC")
    assert r.get_json()["code"] == errors.HOLD_NOT_CONFIRMABLE
    done = sb.ok("POST", f"/v1/holds/{confirmed['id']}/confirm", key="BOC", status=200)
    assert (done["status"], done["captured"]) == ("captured", "40.00")
    assert [t["kind"] for t in done["transfers"]] == ["hold", "capture"]
    # Either party cancels before the condition: a void.
    assert (
        sb.ok("POST", f"/v1/holds/{cancelled['id']}/void", key="ICBC", status=200)["status"]
        == "voided"
    )
    advance(sb, 3600)
    got = sb.ok("GET", f"/v1/holds/{timed['id']}", key="ICBC")
    assert (got["status"], got["captured"]) == ("captured", "40.00")
    advance(sb, 3600)
    assert sb.ok("GET", f"/v1/holds/{unconfirmed['id']}", key="ICBC")["status"] == "expired"
    assert sb.balance(w["noodles"]) == "80.00" and sb.balance(w["ann"]) == "420.00"
    # A confirmation names a third party.
    r = sb.post(
        "/v1/holds", {**body, "condition": "confirmation", "confirmer_wallet": w["ann"]}, key="ICBC"
    )
    assert r.get_json()["code"] == errors.VALIDATION_FAILED
    r = sb.post("/v1/holds", {**body, "condition": "confirmation"}, key="ICBC")
    assert r.get_json()["code"] == errors.VALIDATION_FAILED


def test_timed_payment_to_a_frozen_payee_goes_back(town):
    sb, w = town, town.town
    h = sb.ok(
        "POST",
        "/v1/holds",
        key="ICBC",
        json={
            "from_wallet": w["ann"],
            "to_wallet": w["noodles"],
            "amount": "40.00",
            "condition": "time",
        },
    )
    sb.ok(
        "POST",
        f"/v1/wallets/{w['noodles']}/freeze",
        key="ICBC",
        status=200,
        headers={"If-Match": "*"},
    )
    advance(sb, 3600)
    got = sb.ok("GET", f"/v1/holds/{h['id']}", key="ICBC")
    assert got["status"] == "expired" and sb.balance(w["ann"]) == "500.00"


def test_batches_spend_envelopes_and_a_refused_item_leaves_its_share(town):
    sb, w = town, town.town
    c = campaign(sb)
    sb.ok(
        "POST",
        f"/v1/envelope-campaigns/{c['id']}/grants",
        key="ICBC",
        json={"wallets": [w["ann"]]},
    )
    items = [
        # refused (more than ann and her envelope hold): its draw is given back
        {"id": "b-1", "from_wallet": w["ann"], "to_wallet": w["noodles"], "amount": "900.00"},
        {"id": "b-2", "from_wallet": w["ann"], "to_wallet": w["noodles"], "amount": "120.00"},
        {"id": "b-3", "from_wallet": w["ann"], "to_wallet": w["market"], "amount": "100.00"},
    ]
    got = sb.ok("POST", "/v1/transfers/batch", key="ICBC", json={"transfers": items}, status=200)
    assert [r["status"] for r in got["results"]] == ["refused", "posted", "posted"]
    assert got["results"][0]["code"] == errors.INSUFFICIENT_FUNDS
    # 120 + 80 from the envelope, 20 from ann's wallet.
    assert escrow(sb, c) == "400.00" and sb.balance(w["ann"]) == "480.00"
    (env,) = sb.ok("GET", f"/v1/wallets/{w['ann']}/envelopes", key="ICBC")["items"]
    assert (env["spent"], env["left"]) == ("200.00", "0.00")


def test_envelopes_are_spent_from_valid_from_on(town):
    sb, w = town, town.town
    c = campaign(sb, valid_from=later(sb, 3600))
    sb.ok(
        "POST",
        f"/v1/envelope-campaigns/{c['id']}/grants",
        key="ICBC",
        json={"wallets": [w["ann"]]},
    )
    t = pay(sb, w["ann"], w["noodles"], "10.00", "ICBC")
    assert t["entries"][0]["debit_account"] == f"W:{w['ann']}:ECNY"
    advance(sb, 3600)
    t = pay(sb, w["ann"], w["noodles"], "10.00", "ICBC")
    assert t["entries"][0]["debit_account"] == f"ENV:{c['id']}"


def test_a_frozen_issuer_and_a_closed_grantee_are_refused(town):
    sb, w = town, town.town
    closed = sb.wallet("ICBC", 2)
    sb.ok("POST", f"/v1/wallets/{closed}/close", key="ICBC", headers={"If-Match": "*"}, status=200)
    c = campaign(sb)
    r = sb.post(f"/v1/envelope-campaigns/{c['id']}/grants", {"wallets": [closed]}, key="ICBC")
    assert r.get_json()["code"] == errors.WALLET_CLOSED
    r = sb.post(f"/v1/envelope-campaigns/{c['id']}/grants", {"wallets": [10**9]}, key="ICBC")
    assert r.get_json()["code"] == errors.WALLET_NOT_FOUND
    sb.ok(
        "POST", f"/v1/wallets/{w['gov']}/freeze", key="ICBC", headers={"If-Match": "*"}, status=200
    )
    before = escrow(sb, c)
    r = sb.post("/v1/envelope-campaigns", _body(sb), key="ICBC")
    assert r.get_json()["code"] == errors.WALLET_FROZEN
    assert escrow(sb, c) == before
    assert sb.ok("GET", "/v1/envelope-campaigns")["items"] == [
        sb.ok("GET", f"/v1/envelope-campaigns/{c['id']}")
    ]


@pytest.mark.parametrize(
    "conditions",
    [{"regions": []}, {"regions": ["cn"]}, {"merchant_categories": ["casino"]}],
)
def test_the_domain_refuses_conditions_the_schema_would(town, conditions):
    """The console and the CLI reach campaigns.create without the API's schema."""
    sb = town

    def make(tx):
        return campaigns.create(
            tx,
            SYSTEM,
            issuer_wallet_id=sb.town["gov"],
            name="x",
            amount=100,
            envelopes=1,
            valid_until=tx.now() + timedelta(days=1),
            **conditions,
        )

    with pytest.raises(errors.DomainError) as refused:
        sb.db.write(make)
    assert refused.value.code == errors.VALIDATION_FAILED
    assert set(refused.value.extra["errors"]) == set(conditions)


def test_an_issuer_closes_only_once_its_campaigns_ended(town):
    """The unspent money of a running campaign goes back to its issuer at the
    end: the issuer's wallet stays open until then (wallet_not_empty)."""
    sb, w = town, town.town
    c = campaign(sb, envelopes=1)
    gov = w["gov"]
    balance = sb.balance(gov)
    sb.ok("POST", f"/v1/wallets/{gov}/defund", json={"amount": balance}, key="ICBC")
    r = sb.post(f"/v1/wallets/{gov}/close", key="ICBC")
    assert r.status_code == 409 and r.get_json()["code"] == errors.WALLET_NOT_EMPTY
    assert "1 red-envelope campaigns running" in r.get_json()["detail"]
    advance(sb, 7 * 86400)
    assert sb.ok("GET", f"/v1/envelope-campaigns/{c['id']}")["status"] == "ended"
    assert sb.balance(gov) == "200.00"  # its one envelope's money came back
    sb.ok("POST", f"/v1/wallets/{gov}/defund", json={"amount": "200.00"}, key="ICBC")
    assert sb.ok("POST", f"/v1/wallets/{gov}/close", key="ICBC", status=200)["status"] == "closed"


def test_a_refused_confirmation_tells_the_confirmers_operator_nothing_of_the_parties(town):
    """BOC confirms for its courier; the payer (ICBC's) was frozen since: BOC
    is told the hold cannot be captured, not which wallet of ICBC's is frozen."""
    sb, w = town, town.town
    held = sb.ok(
        "POST",
        "/v1/holds",
        key="ICBC",
        json={
            "from_wallet": w["ann"],
            "to_wallet": w["noodles"],
            "amount": "40.00",
            "condition": "confirmation",
            "confirmer_wallet": w["courier"],
        },
    )
    sb.ok("POST", f"/v1/wallets/{w['ann']}/freeze", key="ICBC", status=200)
    r = sb.post(f"/v1/holds/{held['id']}/confirm", key="BOC")
    body = r.get_json()
    assert (r.status_code, body["code"]) == (422, errors.HOLD_NOT_CONFIRMABLE)
    assert "wallet_id" not in body and str(w["ann"]) not in body["detail"]
    assert sb.ok("GET", f"/v1/holds/{held['id']}", key="ICBC")["status"] == "pending"
    assert sb.ok("GET", f"/v1/wallets/{w['ann']}/balance")["held"] == "40.00"


def test_envelope_money_of_an_undone_linked_chain_is_offered_to_the_later_items(town):
    """b-1 (linked) draws 100.00 of ann's envelope; b-2 fails, so b-1 is undone:
    b-3 then spends the whole envelope (200.00) before ann's wallet."""
    sb, w = town, town.town
    c = campaign(sb)
    sb.ok(
        "POST", f"/v1/envelope-campaigns/{c['id']}/grants", key="ICBC", json={"wallets": [w["ann"]]}
    )
    items = [
        {
            "id": "l-1",
            "from_wallet": w["ann"],
            "to_wallet": w["noodles"],
            "amount": "100.00",
            "linked": True,
        },
        {"id": "l-2", "from_wallet": w["ann"], "to_wallet": w["noodles"], "amount": "90000.00"},
        {"id": "l-3", "from_wallet": w["ann"], "to_wallet": w["market"], "amount": "250.00"},
    ]
    got = sb.ok("POST", "/v1/transfers/batch", key="ICBC", json={"transfers": items}, status=200)
    assert [r["status"] for r in got["results"]] == ["refused", "refused", "posted"]
    assert got["results"][0]["code"] == errors.LINKED_TRANSFER_FAILED
    posted = sb.ok("GET", f"/v1/transfers/{got['results'][2]['transfer_id']}", key="ICBC")
    paid_from = {  # its journal entries out of the envelope's escrow and ann's wallet
        e["debit_account"]: e["amount"]
        for e in posted["entries"]
        if e["debit_account"].startswith(("ENV:", "W:"))
    }
    assert paid_from == {f"ENV:{c['id']}": "200.00", f"W:{w['ann']}:ECNY": "50.00"}
    (env,) = sb.ok("GET", f"/v1/wallets/{w['ann']}/envelopes", key="ICBC")["items"]
    assert (env["spent"], env["left"]) == ("200.00", "0.00")
    assert sb.balance(w["ann"]) == "450.00" and escrow(sb, c) == "400.00"


def test_a_campaigns_reserve_is_the_issuers_own_transfer(town):
    sb, w = town, town.town
    c = campaign(sb)
    (reserve,) = [
        t
        for t in sb.ok("GET", f"/v1/transfers?wallet={w['gov']}&limit=200", key="ICBC")["items"]
        if t["kind"] == "envelope_reserve"
    ]
    assert (reserve["from_wallet"], reserve["to_wallet"], reserve["amount"]) == (
        w["gov"],
        None,
        "600.00",
    )
    assert (reserve["from_operator"], reserve["to_operator"]) == ("ICBC", "ICBC")
    assert reserve["reference"] == f"campaign {c['id']}"
