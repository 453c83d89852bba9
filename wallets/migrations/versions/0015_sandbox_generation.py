"""the sandbox's reset generation

Revision ID: 0015_sandbox_generation
Revises: 0014_replayed_headers
Create Date: 2026-12-01

- ``sandbox.generation``: how many times the sandbox was reset (``POST
  /v1/sandbox/reset``, wallets/services/reset.py). A reset gives its ids to
  other things, so a process's cache of rows that never change
  (``Database.cache``) holds only while the generation it was read under is
  the sandbox's: every transaction that uses the cache reads this row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_sandbox_generation"
down_revision: str | None = "0014_replayed_headers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sandbox") as batch:
        batch.add_column(
            sa.Column("generation", sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("sandbox") as batch:
        batch.drop_column("generation")
