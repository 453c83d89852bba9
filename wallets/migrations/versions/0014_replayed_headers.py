"""a replayed write answers the headers of its first answer (a resource's ETag)

Revision ID: 0014_replayed_headers
Revises: 0013_chip_currency
Create Date: 2026-12-01

- ``idempotency_keys.response_headers``: the stored answer's headers of its
  own (JSON), such as the ``ETag`` of the resource a write updated, sent again
  with a replay of the same Idempotency-Key; answers stored before it have
  none (NULL), and replay without them as they did.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_replayed_headers"
down_revision: str | None = "0013_chip_currency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("response_headers", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("response_headers")
