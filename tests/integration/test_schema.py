"""The Alembic migrations create exactly what `tables.py` (and the modules it imports) describe, and the
newest migration can be undone and redone."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from chengxin.adapters.db.engine import alembic_config
from chengxin.adapters.db.tables import metadata


def test_migrations_create_what_the_tables_describe(app):
    with app.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_downgrade_one_step_and_upgrade_again(app):
    with app.engine.begin() as conn:
        cfg = alembic_config(conn)
        command.downgrade(cfg, "-1")
        command.upgrade(cfg, "head")
    with app.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
