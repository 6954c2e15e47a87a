"""Running battles that survive a restart: their live state (``live_battles``, ``live_seats``, ``live_edits``),
and the message the author of a finished run read (``submissions.message``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("submissions", sa.Column("message", sa.Text, nullable=True))
    op.create_table(
        "live_battles",
        sa.Column("battle_id", sa.String(64), sa.ForeignKey("battles.id"), primary_key=True),
        sa.Column("time_limit_s", sa.Integer, nullable=False),
        sa.Column("bot", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("clock_shift_s", sa.Float, nullable=False, server_default="0"),
        sa.Column("alive_at", sa.Float, nullable=False),
    )
    op.create_table(
        "live_seats",
        sa.Column("battle_id", sa.String(64), sa.ForeignKey("battles.id"), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("code", sa.Text, nullable=False, server_default=""),
        sa.Column("seq", sa.Integer, nullable=False, server_default="0"),
        sa.Column("pastes", sa.Text, nullable=False, server_default="[]"),
        sa.Column("last_tests", sa.Text, nullable=False, server_default="[]"),
        sa.Column("shown_code", sa.Text, nullable=False, server_default=""),
        sa.Column("shown_seq", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "live_edits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("battle_id", sa.String(64), sa.ForeignKey("battles.id"), nullable=False, index=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("edits", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("live_edits")
    op.drop_table("live_seats")
    op.drop_table("live_battles")
    op.drop_column("submissions", "message")
