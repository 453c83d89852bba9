"""audit: signed checkpoints of the journal head, camt.053 statement numbers,
and the error code of a failed export job

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

(Another branch adds 0006; at merge this revision's down_revision becomes "0006".)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("time", sa.String(length=40), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("public_key_sha256", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=12), nullable=False),
        sa.Column("period", sa.BigInteger(), nullable=True),
        sa.Column("export_id", sa.String(length=40), nullable=True),
        sa.CheckConstraint("reason IN ('schedule', 'export')", name=op.f("ck_checkpoints_reason")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoints")),
        sa.UniqueConstraint("period", name=op.f("uq_checkpoints_period")),
    )
    op.create_table(
        "statement_numbers",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.Column("export_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_statement_numbers_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_statement_numbers")),
    )
    with op.batch_alter_table("export_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_code", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("export_jobs", schema=None) as batch_op:
        batch_op.drop_column("error_code")
    op.drop_table("statement_numbers")
    op.drop_table("checkpoints")
