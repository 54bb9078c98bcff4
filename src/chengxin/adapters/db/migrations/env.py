"""Alembic environment: runs on the connection Chengxin hands it (see engine.migrate)."""

from alembic import context

from chengxin.adapters.db.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
