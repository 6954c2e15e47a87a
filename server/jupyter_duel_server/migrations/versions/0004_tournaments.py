"""Tournaments (``tournaments``, ``tournament_entrants``, ``tournament_games``) and the tournament a battle is a
game of (``battles.tournament_id``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("battles", sa.Column("tournament_id", sa.String(64), nullable=True))
    op.create_index("ix_battles_tournament_id", "battles", ["tournament_id"])
    op.create_table(
        "tournaments",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ending", sa.Boolean, nullable=False),
        sa.Column("rated", sa.Boolean, nullable=False),
        sa.Column("pack", sa.String(128), nullable=True),
        sa.Column("challenges", sa.Text, nullable=True),
        sa.Column("same_challenge_per_round", sa.Boolean, nullable=False),
        sa.Column("difficulty", sa.String(16), nullable=False),
        sa.Column("duration_s", sa.Integer, nullable=True),
        sa.Column("rounds", sa.Integer, nullable=True),
        sa.Column("time_limit_s", sa.Integer, nullable=True),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("starts_at", sa.Float, nullable=True),
        sa.Column("ends_at", sa.Float, nullable=True),
        sa.Column("state", sa.Text, nullable=False),
    )
    op.create_table(
        "tournament_entrants",
        sa.Column("tournament_id", sa.String(64), sa.ForeignKey("tournaments.id"), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("rating", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("joined_round", sa.Integer, nullable=False),
        sa.Column("withdrawn_from_round", sa.Integer, nullable=True),
        sa.Column("joined_at", sa.Float, nullable=False),
    )
    op.create_table(
        "tournament_games",
        sa.Column("tournament_id", sa.String(64), sa.ForeignKey("tournaments.id"), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("first_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("second_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("battle_id", sa.String(64), nullable=True, index=True),
        sa.Column("challenge_id", sa.String(128), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("points_first", sa.Float, nullable=True),
        sa.Column("points_second", sa.Float, nullable=True),
        sa.Column("winner_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("progress", sa.Text, nullable=False),
        sa.Column("started_at", sa.Float, nullable=True),
        sa.Column("ended_at", sa.Float, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("tournament_games")
    op.drop_table("tournament_entrants")
    op.drop_table("tournaments")
    op.drop_index("ix_battles_tournament_id", "battles")
    with op.batch_alter_table("battles") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("tournament_id")
