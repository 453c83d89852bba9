"""chips in HKD or MOP: a casino's chip currency, the e-CNY and the rate of each
conversion at its cage

Revision ID: 0013_chip_currency
Revises: 0009_macau_depth
Create Date: 2026-12-01

- ``casinos.chip_currency``: CNY, HKD or MOP (existing casinos: CNY, their
  chips worth a fen each as before);
- ``casino_transactions.ecny_amount`` and ``.rate``: a buy-in's or cash-out's
  e-CNY (fen) and the rate it converted at (chips per CNY); existing rows get
  their amount and "1";
- ``credit_movements.ecny_amount`` and ``.rate``: a repayment's e-CNY and rate
  (existing repayments: their amount and "1");
- the profile's ``fx.mop_per_hkd`` and ``fx.rates`` are new optional keys: the
  downgrade takes them out of a sandbox's own profile document (the parser
  before this revision refuses unknown keys).

(Other branches may add revisions after 0009; at merge the merger re-chains
this one's down_revision.)
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_chip_currency"
down_revision: str | None = "0009_macau_depth"
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
