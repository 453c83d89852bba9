"""chips in HKD or MOP: a casino's chip currency, the e-CNY and the rate of each
conversion at its cage

Revision ID: 0013_chip_currency
Revises: 0012_offline
Create Date: 2026-12-01

- ``casinos.chip_currency``: CNY, HKD or MOP (existing casinos: CNY, their
  chips worth a fen each as before);
- ``casino_transactions.ecny_amount`` and ``.rate``: a buy-in's or cash-out's
  e-CNY (fen) and the rate it converted at (chips per CNY); existing rows get
  their amount and "1";
- ``credit_movements.ecny_amount`` and ``.rate``: a repayment's e-CNY and rate
  (existing repayments: their amount and "1");
- the stored reports of closed gaming days (all of CNY casinos) get the
  figures a close now reports, as a CNY casino's close gives them: the chip
  currency CNY, each figure in CNY equal to its chip figure, an ``fx`` section
  with the rate 1, no FX result, and the MOP per CNY rate of the sandbox's
  profile document (the shipped macau's 1.10 without one); the downgrade
  leaves them (the reports' readers before it ignore the extra keys);
- the profile's ``fx.mop_per_hkd`` and ``fx.rates`` are new optional keys: the
  downgrade takes them out of a sandbox's own profile document (the parser
  before this revision refuses unknown keys).
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_chip_currency"
down_revision: str | None = "0012_offline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_FX_KEYS = ("mop_per_hkd", "rates")


def upgrade() -> None:
    with op.batch_alter_table("casinos") as batch:
        batch.add_column(
            sa.Column("chip_currency", sa.String(length=3), server_default="CNY", nullable=False)
        )
        batch.create_check_constraint(
            op.f("ck_casinos_chip_currency"), "chip_currency IN ('CNY', 'HKD', 'MOP')"
        )
    for table in ("casino_transactions", "credit_movements"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("ecny_amount", sa.BigInteger(), nullable=True))
            batch.add_column(sa.Column("rate", sa.String(length=24), nullable=True))
    op.execute(
        "UPDATE casino_transactions SET ecny_amount = amount, rate = '1' "
        "WHERE kind IN ('buy_in', 'cash_out')"
    )
    op.execute(
        "UPDATE credit_movements SET ecny_amount = amount, rate = '1' WHERE kind = 'repayment'"
    )
    _complete_reports()


def _complete_reports() -> None:
    bind = op.get_bind()
    text = bind.execute(sa.text("SELECT profile_document FROM sandbox WHERE id = 1")).scalar()
    document = json.loads(text) if text else {}
    fx = document.get("fx") if isinstance(document, dict) else None
    mop_per_cny = fx.get("mop_per_cny", "1.10") if isinstance(fx, dict) else "1.10"
    rows = bind.execute(sa.text("SELECT casino_id, gaming_day, report FROM gaming_days")).all()
    for casino_id, gaming_day, stored in rows:
        report = json.loads(stored)
        if "chip_currency" in report:
            continue
        _as_cny_close(report, mop_per_cny)
        bind.execute(
            sa.text(
                "UPDATE gaming_days SET report = :report "
                "WHERE casino_id = :casino_id AND gaming_day = :gaming_day"
            ),
            {
                "report": json.dumps(report, separators=(",", ":")),
                "casino_id": casino_id,
                "gaming_day": gaming_day,
            },
        )


def _as_cny_close(report: dict, mop_per_cny: str) -> None:
    """A CNY casino's report with the figures a close reports since this revision."""
    report["chip_currency"] = "CNY"
    report["ggr_cny"] = report.get("ggr", "0.00")
    tax = report.get("special_gaming_tax") or {}
    tax.setdefault("amount_chip_currency", tax.get("amount", "0.00"))
    contributions = report.get("contributions") or {}
    contributions.setdefault("amount_chip_currency", contributions.get("amount", "0.00"))
    for payment in contributions.get("payments") or []:
        payment.setdefault("amount_chip_currency", payment.get("amount", "0.00"))
    for promoter in report.get("promoters") or []:
        promoter.setdefault("commission_chip_currency", promoter.get("commission", "0.00"))
    circulation = report.get("chips_in_circulation") or {}
    circulation.setdefault("now_cny", circulation.get("now", "0.00"))
    for check in report.get("checks") or []:
        if check.get("name") == "ecny_receipts_match":
            figures = check.setdefault("figures", {})
            for name in ("ggr", "chips_with_players_change", "credit_outstanding_change"):
                figures.setdefault(f"{name}_cny", figures.get(name, "0.00"))
            figures.setdefault("fx_result", "0.00")
    report["fx"] = {
        "rate": "1",
        "mop_per_cny": mop_per_cny,
        "buy_ins_ecny": report.get("buy_ins", "0.00"),
        "cash_outs_ecny": report.get("cash_outs", "0.00"),
        "credit_repaid_ecny": (report.get("gaming_credit") or {}).get("repaid", "0.00"),
        "result": "0.00",
    }


def downgrade() -> None:
    _strip_document()
    for table in ("credit_movements", "casino_transactions"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("rate")
            batch.drop_column("ecny_amount")
    with op.batch_alter_table("casinos") as batch:
        batch.drop_constraint(op.f("ck_casinos_chip_currency"), type_="check")
        batch.drop_column("chip_currency")


def _strip_document() -> None:
    bind = op.get_bind()
    text = bind.execute(sa.text("SELECT profile_document FROM sandbox WHERE id = 1")).scalar()
    if not text:
        return
    document = json.loads(text)
    fx = document.get("fx") if isinstance(document, dict) else None
    if not isinstance(fx, dict):
        return
    for key in NEW_FX_KEYS:
        fx.pop(key, None)
    bind.execute(
        sa.text("UPDATE sandbox SET profile_document = :doc WHERE id = 1"),
        {"doc": json.dumps(document, sort_keys=True, separators=(",", ":"))},
    )
