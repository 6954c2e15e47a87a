"""Alembic's entry point: runs the migrations on the connection ``migrate`` gives (``alembic_config``)."""

from alembic import context

from jupyter_duel_server.store import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the migrations through jupyter_duel_server.migrations.migrate(engine)")
# Batch mode: SQLite alters a table by copying it, which is how its ALTER TABLE limits are worked around.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
