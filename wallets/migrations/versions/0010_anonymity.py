"""managed anonymity: holder identities kept by the operator, identity reveals

Revision ID: 0010_anonymity
Revises: 0009_macau_depth
Create Date: 2026-12-01

- ``holder_identities``: what the operator that opened a wallet keeps of its
  holder beside the wallet row: the phone number (a class 4 wallet's only
  identity; until now only its keyed hash was kept, so wallets opened before
  this revision have none) and a name where given;
- ``identity_reveals``: a supervisor's or the central bank's request for the
  identity behind a wallet, its legal basis and case reference, the second
  key that approved or rejected it, and when the requester read it.

The rule profile's optional ``anonymity`` section needs no rewrite of a
sandbox's own document on the way up (without it no legal basis is accepted);
the downgrade takes it out of the document: the parser before refuses unknown
keys.

"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_anonymity"
down_revision: str | None = "0009_macau_depth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "holder_identities",
        sa.Column("wallet_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("holder_name", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_holder_identities_operator_id_operators"),
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_holder_identities_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("wallet_id", name=op.f("pk_holder_identities")),
    )
    op.create_table(
        "identity_reveals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wallet_id", BIG_ID, nullable=False),
        sa.Column("legal_basis", sa.String(length=40), nullable=False),
        sa.Column("case_reference", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by_key_id", sa.Integer(), nullable=True),
        sa.Column("requested_by_role", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by_key_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_role", sa.String(length=16), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('requested', 'approved', 'rejected', 'read')",
            name=op.f("ck_identity_reveals_status"),
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_identity_reveals_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_reveals")),
    )
    op.create_index(
        op.f("ix_identity_reveals_wallet_id"), "identity_reveals", ["wallet_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_identity_reveals_wallet_id"), table_name="identity_reveals")
    op.drop_table("identity_reveals")
    op.drop_table("holder_identities")
    bind = op.get_bind()
    text = bind.execute(sa.text("SELECT profile_document FROM sandbox WHERE id = 1")).scalar()
    document = json.loads(text) if text else None
    if isinstance(document, dict) and "anonymity" in document:
        del document["anonymity"]
        bind.execute(
            sa.text("UPDATE sandbox SET profile_document = :doc WHERE id = 1"),
            {"doc": json.dumps(document, sort_keys=True, separators=(",", ":"))},
        )
