"""Schemas of /v1/casinos: casinos, the cage, gaming days."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from wallets.casino.model import OPERATION_KINDS
from wallets.core.schema import MAX_ID, MAX_ID32
from wallets.ledger.money import AmountError, parse_rate
from wallets.rules.profile import CHIP_CURRENCIES
from wallets.supervision import alerts

from .common import (
    GAMING_DAY_PATTERN,
    PAYMENT_CODE_MAX_LENGTH,
    Amount,
    IdPageArgs,
    Integer,
    Output,
    PageArgs,
    Pattern,
    SignedAmount,
    StrictSchema,
    casino_ref_field,
    no_controls,
    one_of,
    reference_field,
    wallet_id,
)
from .transfers import TransferOut


def beneficiaries_field(description: str, **kwargs) -> fields.Dict:
    """A casino's beneficiaries: contribution name -> wallet id (at most 8)."""
    return fields.Dict(
        keys=fields.String(),
        values=wallet_id(),
        validate=validate.Length(max=8),
        metadata={"description": description, "example": {"macao_foundation": 15}},
        **kwargs,
    )


# Chip amounts are in the casino's chip currency, not CNY (docs/macau.md §13).
CHIPS = {
    "description": "In the casino's chip currency (CNY, HKD or MOP: docs/macau.md §13), "
    "a decimal string with at most 2 decimals"
}


class CasinoCreate(StrictSchema):
    ref = casino_ref_field(required=True)
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), no_controls])
    operator = fields.String(
        validate=validate.Length(max=32),
        metadata={"description": "Where to open its merchant wallet (unless merchant_wallet)"},
    )
    merchant_wallet = wallet_id(
        metadata={"description": "An existing merchant wallet to use instead of opening one"}
    )
    treasury_wallet = wallet_id(
        required=True, metadata={"description": "The government wallet its gaming taxes go to"}
    )
    float_amount = Amount(
        data_key="float",
        required=True,
        allow_zero=True,
        metadata={"description": "e-CNY its wallet keeps after the day's sweep; funded now"},
    )
    supervisors = fields.List(
        Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID32)),
        load_default=list,
        metadata={"description": "Ids of supervisor keys to add this casino to"},
    )
    beneficiaries = beneficiaries_field(
        "The wallet each contribution of the rule profile is paid to (by the "
        "contribution's name); a contribution not named here goes to the treasury wallet",
        load_default=dict,
    )
    chips_approved = Amount(
        metadata={
            "description": "The chips in circulation DICJ approved (Law 7/2022), in the "
            "chip currency: a buy-in that would put more chips with players is refused. "
            "Absent: none recorded"
        }
    )
    chip_currency = fields.String(
        load_default="CNY",
        validate=validate.OneOf(CHIP_CURRENCIES),
        metadata={
            "enum": list(CHIP_CURRENCIES),
            "description": "The currency of its chips (fixed at registration): chip amounts "
            "at its cage are cents/avos of it, converted from and to e-CNY at the rate in "
            "force (docs/macau.md §13). Default CNY (a choice of the sandbox: Macau's "
            "chips are in HKD or MOP)",
        },
    )


class SupervisorOut(Output):
    key_id = Integer()
    label = fields.String(allow_none=True)


class CasinoOut(Output):
    ref = fields.String()
    name = fields.String()
    operator = fields.String(attribute="operator_code")
    chip_asset = fields.String()
    chip_currency = one_of(CHIP_CURRENCIES)
    merchant_wallet = Integer(attribute="merchant_wallet_id")
    treasury_wallet = Integer(attribute="treasury_wallet_id")
    float_amount = Amount(data_key="float")
    merchant_balance = Amount(metadata={"description": "e-CNY in its merchant wallet"})
    chips_with_players = Amount(metadata={"description": "Chips out with players, now"})
    supervisors = fields.List(fields.Nested(SupervisorOut))
    beneficiaries = fields.Dict(keys=fields.String(), values=Integer())
    chips_approved = Amount(allow_none=True, allow_zero=True, metadata=CHIPS)
    created_at = fields.DateTime()


class ChipsApprovalBody(StrictSchema):
    chips_approved = Amount(
        required=True,
        allow_none=True,
        allow_zero=True,
        metadata={
            "description": "The chips in circulation DICJ approved for the casino "
            "(Law 7/2022), in its chip currency; null: no approved figure"
        },
    )


class CirculationOut(Output):
    approved = fields.String(allow_none=True)
    now = fields.String(metadata={"description": "Chips with players at the close"})
    now_cny = fields.String(metadata={"description": "now in CNY at the closing rate"})
    ecny_cash = fields.String(metadata={"description": "The casino wallet's e-CNY after the sweep"})
    coverage = fields.String(
        allow_none=True, metadata={"description": "ecny_cash / now_cny (null: no chips out)"}
    )


SHARE_PATTERN = (
    r"^(1(\.0{1,6})?|0\.([1-9][0-9]{0,5}|0[1-9][0-9]{0,4}|00[1-9][0-9]{0,3}"
    r"|000[1-9][0-9]{0,2}|0000[1-9][0-9]?|00000[1-9]))$"
)


class _Share(fields.String):
    """A share as a decimal string (at most 6 decimals), above 0 and at most 1."""

    def __init__(self, **kwargs):
        metadata = kwargs.pop("metadata", {})
        # Above 0, at most 1, at most 6 decimals: exactly what _deserialize takes.
        metadata.setdefault("pattern", SHARE_PATTERN)
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            rate = parse_rate(value)
        except AmountError as exc:
            raise ValidationError(str(exc)) from exc
        if not 0 < rate <= 1:
            raise ValidationError("must be above 0 and at most 1")
        return rate

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class PromoterCreate(StrictSchema):
    licence = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,31}$"),
        metadata={"description": "The promoter's DICJ licence", "example": "GP-0042"},
    )
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), no_controls])
    wallet = wallet_id(required=True, metadata={"description": "Where its commission is paid"})
    commission_rate = _Share(
        required=True,
        metadata={
            "description": "Its commission, a share of its players' net rolling; at most "
            "the profile's casino.promoters.commission_cap (macau: 0.0125)",
            "example": "0.0125",
        },
    )


class BeneficiariesBody(StrictSchema):
    beneficiaries = beneficiaries_field(
        "The casino's beneficiaries from now on, replacing the ones before: the wallet "
        "(active, class 1 or 2) each contribution of the rule profile is paid to; a "
        "contribution not named here goes to the treasury wallet",
        required=True,
    )


class PromoterWalletBody(StrictSchema):
    wallet = wallet_id(
        required=True,
        metadata={"description": "Where its commission is paid from the next close on"},
    )


class PromoterPlayerBody(StrictSchema):
    player = wallet_id(required=True, metadata={"description": "The player's wallet"})


class PromoterOut(Output):
    licence = fields.String()
    name = fields.String()
    casino = fields.String(attribute="casino_ref")
    wallet = Integer(attribute="wallet_id")
    commission_rate = _Share()
    players = fields.List(Integer())
    created_at = fields.DateTime()


class PromoterCommissionOut(Output):
    promoter = fields.String(metadata={"description": "Its licence"})
    wallet = Integer()
    players = Integer()
    net_rolling = fields.String(
        metadata={"description": "Its players' wagers of the day, in the chip currency"}
    )
    rate = fields.String()
    commission = fields.String(metadata={"description": "In CNY at the closing rate: paid"})
    commission_chip_currency = fields.String(metadata={"description": "net_rolling x rate"})
    withholding = fields.String(metadata={"description": "Tax withheld at source"})
    paid = fields.String(metadata={"description": "commission - withholding, to its wallet"})
    transfer_ids = fields.List(Integer())


class _CageBody(StrictSchema):
    player = wallet_id(required=True, metadata={"description": "The player's wallet"})
    amount = Amount(required=True)
    reference = reference_field()


class WalkingPlayerOut(Output):
    player = Integer()
    chips = fields.String()
    last_gaming_day = fields.String()
    alert_id = Integer(allow_none=True)


class ChipWalkingOut(Output):
    gaming_days = Integer(metadata={"description": "The profile's casino.chip_walking.gaming_days"})
    players = fields.List(fields.Nested(WalkingPlayerOut))


class CreditLineBody(StrictSchema):
    limit = Amount(
        required=True,
        allow_zero=True,
        metadata={"description": "The most credit the player may owe (0.00: no new draws)"},
    )


class CreditLineOut(Output):
    casino = fields.String(attribute="casino_ref")
    player = Integer(attribute="wallet_id")
    limit = Amount(allow_zero=True, metadata=CHIPS)
    outstanding = Amount(allow_zero=True, metadata=CHIPS)
    available = Amount(allow_zero=True, metadata=CHIPS)


class CreditDrawBody(StrictSchema):
    player = wallet_id(required=True, metadata={"description": "The player's wallet"})
    amount = Amount(required=True, metadata={"description": "Chips drawn on credit"})


class CreditRepaymentBody(CreditDrawBody):
    amount = Amount(
        required=True,
        metadata={
            "description": "The debt repaid, in the chip currency; the e-CNY paid is its "
            "value at the rate in force, rounded up (as much for CNY chips)"
        },
    )
    payment_code = fields.String(
        validate=validate.Length(min=1, max=PAYMENT_CODE_MAX_LENGTH),
        metadata={"description": "A payment code of the player's wallet, as for a buy-in"},
    )


class CreditMovementOut(Output):
    id = Integer()
    casino = fields.String(attribute="casino_ref")
    kind = fields.String(metadata={"description": "draw or repayment"})
    player = Integer(attribute="wallet_id")
    gaming_day = fields.Date()
    at = fields.DateTime()
    amount = Amount(metadata=CHIPS)
    outstanding = Amount(allow_zero=True, metadata={"description": "Owed after it"})
    ecny_amount = Amount(
        allow_none=True, metadata={"description": "Repayments: the e-CNY paid (null for draws)"}
    )
    rate = fields.String(
        allow_none=True, metadata={"description": "Repayments: chips per CNY (null for draws)"}
    )
    transfers = fields.List(fields.Nested(TransferOut))
    alerts = fields.List(fields.Nested(lambda: AlertBriefOut()))


class GamingCreditOut(Output):
    drawn = fields.String()
    repaid = fields.String()
    outstanding = fields.String(metadata={"description": "Owed to the casino at the close"})


class ChipHandoverBody(StrictSchema):
    from_player = wallet_id(required=True, metadata={"description": "Who hands the chips"})
    to_player = wallet_id(required=True, metadata={"description": "Who receives them"})
    amount = Amount(required=True, metadata=CHIPS)


class ChipHandoverOut(Output):
    id = Integer()
    casino = fields.String(attribute="casino_ref")
    from_player = Integer(attribute="from_wallet_id")
    to_player = Integer(attribute="to_wallet_id")
    gaming_day = fields.Date()
    at = fields.DateTime()
    amount = Amount(metadata=CHIPS)
    transfers = fields.List(fields.Nested(TransferOut))


class CashOutBody(_CageBody):
    amount = Amount(
        required=True,
        metadata={
            "description": "Chips returned, in the casino's chip currency; the e-CNY paid "
            "is their value at the rate in force, rounded down (as much for CNY chips)"
        },
    )
    pay_to = wallet_id(
        metadata={
            "description": "The wallet the e-CNY is paid to (default: the player's). One "
            "that did not buy in at the casino that gaming day is a third party: "
            "alerted or refused per the profile (casino.third_party_payout)"
        }
    )


class BuyInBody(_CageBody):
    amount = Amount(
        required=True,
        metadata={
            "description": "e-CNY paid (CNY); the chips issued are its value at the rate "
            "in force, rounded down (as many for CNY chips)"
        },
    )
    payment_code = fields.String(
        validate=validate.Length(min=1, max=PAYMENT_CODE_MAX_LENGTH),
        metadata={
            "description": "A payment code of the player's wallet (POST "
            "/v1/wallets/{id}/payment-codes): the holder's consent to this debit. "
            "Required when the rule profile says so (macau: yes); used once",
            "example": "pc_3q2-Vb0XkZr7mC1nqYf0dP9sUu4hLwQe",
        },
    )


class PlayBody(StrictSchema):
    player = wallet_id(required=True, metadata={"description": "The player's wallet"})
    wager = Amount(required=True, metadata={"description": "Chips wagered: turnover"})
    payout = Amount(
        load_default=0,
        allow_zero=True,
        metadata={"description": "Chips paid back, stake included (default 0.00: lost)"},
    )
    reference = reference_field()


class AlertBriefOut(Output):
    id = Integer()
    type = one_of(alerts.TYPES)
    summary = fields.String()


class CageOperationOut(Output):
    id = Integer(metadata={"description": "The cage operation's id"})
    casino = fields.String(attribute="casino_ref")
    kind = one_of(OPERATION_KINDS)
    player = Integer(attribute="wallet_id")
    gaming_day = fields.Date()
    at = fields.DateTime()
    amount = Amount(
        metadata={
            "description": "Chips bought, cashed out, or wagered, in the chip currency",
            "example": "100.00",
        }
    )
    payout = Amount(allow_zero=True, metadata=CHIPS)
    chip_currency = one_of(CHIP_CURRENCIES)
    ecny_amount = Amount(
        allow_none=True,
        metadata={"description": "Buy-ins and cash-outs: the e-CNY paid (null for plays)"},
    )
    rate = fields.String(
        allow_none=True,
        metadata={
            "description": "Buy-ins and cash-outs: the rate converted at, chips per CNY "
            "(1 for CNY chips; null for plays)",
            "example": "1.067961",
        },
    )
    transfers = fields.List(fields.Nested(TransferOut))
    alerts = fields.List(fields.Nested(AlertBriefOut), metadata={"description": "Raised by it"})


def holder_ref_field() -> fields.String:
    return fields.String(
        metadata={
            "description": "The holder's pseudonym, `holder-w<its first wallet id>`: one "
            "holder's wallets share it. Never the holder id (docs/anonymity.md)"
        }
    )


class OperationOut(Output):
    id = Integer()
    casino = fields.String(attribute="casino_ref")
    kind = one_of(OPERATION_KINDS)
    player = Integer(attribute="wallet_id")
    holder_ref = holder_ref_field()
    gaming_day = fields.Date()
    at = fields.DateTime()
    amount = Amount(metadata={"description": "In the chip currency", "example": "100.00"})
    payout = Amount(allow_zero=True, metadata=CHIPS)
    ecny_amount = Amount(
        allow_none=True, metadata={"description": "Buy-ins and cash-outs: the e-CNY paid"}
    )
    rate = fields.String(
        allow_none=True, metadata={"description": "Buy-ins and cash-outs: chips per CNY"}
    )
    transfer_ids = fields.List(Integer())


class OperationListArgs(IdPageArgs):
    wallet = Integer(validate=validate.Range(min=1, max=MAX_ID))
    gaming_day = fields.Date()


class PlayerDayListArgs(PageArgs):
    """Players' days, ordered by gaming day then wallet: the cursor is both."""

    wallet = Integer(validate=validate.Range(min=1, max=MAX_ID))
    gaming_day = fields.Date()
    after = fields.String(
        load_default=None,
        validate=Pattern(
            r"^[0-9]{4}-[0-9]{2}-[0-9]{2}:[1-9][0-9]{0,17}$", error="not a valid cursor"
        ),
        metadata={
            "description": "Cursor: next_after of the previous page (gaming day:wallet)",
            "example": "2026-03-02:4",
        },
    )


class PlayerDayOut(Output):
    gaming_day = fields.Date()
    player = Integer(attribute="wallet_id")
    holder_ref = holder_ref_field()
    buy_ins = Amount(allow_zero=True, metadata=CHIPS)
    cash_outs = Amount(allow_zero=True, metadata=CHIPS)
    turnover = Amount(attribute="wagered", allow_zero=True, metadata=CHIPS)
    payouts = Amount(attribute="paid_out", allow_zero=True, metadata=CHIPS)
    net_result = SignedAmount(
        metadata={"description": "payouts - turnover: the player's win (negative: loss)"}
    )
    transactions = Integer()


class GamingDayArgs(PageArgs):
    after = fields.String(
        load_default=None,
        metadata={
            "description": "Cursor: next_after of the previous page (a gaming day)",
            "format": "date",
            "pattern": GAMING_DAY_PATTERN,
        },
    )


class CheckResultOut(Output):
    name = fields.String()
    ok = fields.Boolean()
    figures = fields.Dict()
    problems = fields.List(fields.String())


class TaxOut(Output):
    rate = fields.String(metadata={"example": "0.35"})
    amount = fields.String(
        metadata={"description": "e-CNY paid: the rate of ggr_cny", "example": "1234.50"}
    )
    amount_chip_currency = fields.String(metadata={"description": "The rate of ggr"})
    transfer_id = Integer(allow_none=True)


class ContributionPaymentOut(Output):
    name = fields.String(metadata={"example": "macao_foundation"})
    rate = fields.String(metadata={"example": "0.02"})
    amount = fields.String(
        metadata={"description": "e-CNY paid: the rate of ggr_cny", "example": "460.00"}
    )
    amount_chip_currency = fields.String(metadata={"description": "The rate of ggr"})
    wallet = Integer(metadata={"description": "The beneficiary's wallet"})
    transfer_id = Integer(allow_none=True)


class ContributionsOut(Output):
    rate = fields.String(metadata={"description": "The shares together", "example": "0.05"})
    amount = fields.String(metadata={"description": "The payments together"})
    amount_chip_currency = fields.String()
    payments = fields.List(fields.Nested(ContributionPaymentOut))


class FxResultOut(Output):
    rate = fields.String(
        metadata={
            "description": "Chips per CNY in force when the gaming day ends: the rate "
            "of every CNY figure of the close",
            "example": "1.067961",
        }
    )
    mop_per_cny = fields.String(metadata={"example": "1.10"})
    buy_ins_ecny = fields.String(metadata={"description": "e-CNY the cage took for chips"})
    cash_outs_ecny = fields.String(metadata={"description": "e-CNY the cage paid for chips"})
    credit_repaid_ecny = fields.String()
    result = fields.String(
        metadata={
            "description": "FX gain (loss below zero): the cage's e-CNY (buy-ins - cash-outs "
            "+ credit repaid, each at its own rate) - (GGR + the change in chips with "
            "players - the change in credit outstanding, in CNY at the closing rate)"
        }
    )


class SweepOut(Output):
    float_amount = fields.String(attribute="float", data_key="float")
    balance_before = fields.String()
    amount = fields.String()
    transfer_id = Integer(allow_none=True)


class ChipsOut(Output):
    at_start = fields.String()
    at_end = fields.String()


class UndeliveredOut(Output):
    payment = fields.String(
        metadata={"example": "contribution macao_foundation, LISBOA 2026-03-02"}
    )
    wallet = Integer(metadata={"description": "The payee's wallet, which could not take it"})
    amount = fields.String(metadata={"example": "460.00"})
    reason = fields.String(
        metadata={
            "description": "wallet_frozen, wallet_closed or balance_cap",
            "enum": ["wallet_frozen", "wallet_closed", "balance_cap"],
        }
    )
    paid_to = Integer(metadata={"description": "The treasury wallet, paid instead"})
    transfer_id = Integer(allow_none=True)


class GamingDayReportOut(Output):
    casino = fields.String()
    gaming_day = fields.String(metadata={"example": "2026-03-02"})
    starts_at = fields.String()
    ends_at = fields.String()
    closed_at = fields.String()
    players = Integer()
    buy_ins = fields.String()
    cash_outs = fields.String()
    turnover = fields.String()
    payouts = fields.String()
    ggr = fields.String(
        metadata={"description": "Gross gaming revenue: turnover - payouts (chip currency)"}
    )
    chip_currency = one_of(CHIP_CURRENCIES)
    ggr_cny = fields.String(metadata={"description": "ggr in CNY at the closing rate"})
    fx = fields.Nested(FxResultOut)
    special_gaming_tax = fields.Nested(TaxOut)
    contributions = fields.Nested(ContributionsOut)
    sweep = fields.Nested(SweepOut)
    chips_with_players = fields.Nested(ChipsOut)
    chips_in_circulation = fields.Nested(CirculationOut)
    promoters = fields.List(fields.Nested(PromoterCommissionOut))
    undelivered = fields.List(
        fields.Nested(UndeliveredOut),
        metadata={
            "description": "Contributions and commissions their wallet could not take "
            "(frozen, closed, past its balance cap): paid to the treasury wallet instead"
        },
    )
    chip_walking = fields.Nested(ChipWalkingOut, allow_none=True)
    gaming_credit = fields.Nested(GamingCreditOut)
    checks = fields.List(fields.Nested(CheckResultOut))
    ok = fields.Boolean(metadata={"description": "Every check passed"})
