"""A shared run keeps its unfamiliar-input check's arrays too (familiarity.npz), so Predict
can flag an input on a classmate's run as on one's own. Runs shared before keep none.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("shared_runs", sa.Column("familiarity", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    op.drop_column("shared_runs", "familiarity")
