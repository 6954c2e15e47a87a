"""The schema of the releases before migrations: users, battles, paste events, submissions, timelines.

An empty database gets it whole. A database made by one of those releases (tables present, no
``alembic_version``) may lack the columns and indexes they added over time (they added columns as they went,
nullable or with a default): this adds what is missing and keeps every row.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _baseline() -> sa.MetaData:
    """The schema as it stood, frozen here: later changes to the models never change this revision."""
    meta = sa.MetaData()
    sa.Table(
        "users", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True, index=True),
        sa.Column("guest", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("skeleton", sa.String(64), nullable=True, index=True),
        sa.Column("guest_key_hash", sa.String(64), nullable=True),
        sa.Column("bot", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("rating", sa.Float, nullable=False),
        sa.Column("rd", sa.Float, nullable=False, server_default="350.0"),
        sa.Column("volatility", sa.Float, nullable=False, server_default="0.06"),
        sa.Column("last_rated_at", sa.Float, nullable=True),
        sa.Column("games", sa.Integer, nullable=False, server_default="0"),
        sa.Column("wins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("losses", sa.Integer, nullable=False, server_default="0"),
        sa.Column("draws", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float, nullable=False, server_default="0"),
    )
    sa.Table(
        "battles", meta,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("challenge_id", sa.String(128), nullable=False),
        sa.Column("player_a_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("player_b_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("ranked", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="running"),
        sa.Column("winner_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float, nullable=True),
        sa.Column("rating_a_before", sa.Float, nullable=False),
        sa.Column("rating_b_before", sa.Float, nullable=False),
        sa.Column("rating_a_after", sa.Float, nullable=True),
        sa.Column("rating_b_after", sa.Float, nullable=True),
        sa.Column("mirror", sa.String(16), nullable=True),
        sa.Column("similarity", sa.Float, nullable=True),
        sa.Column("note", sa.String(200), nullable=True),
    )
    sa.Table(
        "paste_events", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("battle_id", sa.String(64), sa.ForeignKey("battles.id"), nullable=False, index=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("chars", sa.Integer, nullable=False),
        sa.Column("at_s", sa.Float, nullable=False),
    )
    sa.Table(
        "submissions", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("battle_id", sa.String(64), sa.ForeignKey("battles.id"), nullable=False, index=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("samples_only", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("verdict", sa.String(16), nullable=True),
        sa.Column("passed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float, nullable=False, server_default="0"),
        sa.Column("tests", sa.Text, nullable=True),
    )
    sa.Table(
        "timelines", meta,
        sa.Column("battle_id", sa.String(64), sa.ForeignKey("battles.id"), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("final_code", sa.Text, nullable=False),
        sa.Column("edits", sa.Text, nullable=False),
    )
    return meta


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for table in _baseline().sorted_tables:
        if not inspector.has_table(table.name):
            table.create(bind)
            continue
        # A table of an older release: add what it lacks (such a column is nullable or has a default).
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                op.add_column(table.name, column._copy())
        indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                op.create_index(index.name, table.name, [c.name for c in index.columns], unique=index.unique)


def downgrade() -> None:
    for table in reversed(_baseline().sorted_tables):
        op.drop_table(table.name)
