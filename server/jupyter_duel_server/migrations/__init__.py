"""The database schema's history as Alembic migrations, applied by ``migrate`` whenever a ``Store`` opens a
database (SQLite or PostgreSQL).

``versions/`` holds one file per change, each naming the one before (``down_revision``). The first,
``0001_baseline``, makes the schema of the releases before migrations existed: on an empty database it creates
it, on a database made by those releases it adds the columns and indexes that database lacks, keeping every row.
How to add one: docs/hosting.md, "Changing the schema".
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

HERE = Path(__file__).resolve().parent

# Any number, the same in every process: the transaction-scoped PostgreSQL lock that lets one service process
# at a time migrate a shared database.
_MIGRATION_LOCK = 0x6A64_7565_6C00  # "jduel"


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration of these migrations; with ``connection``, migrations run on it."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest) in one transaction."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        command.upgrade(alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
