"""Migrations apply from empty on PostgreSQL and SQLite, and match the models."""

import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import crm_app.models  # noqa: F401
from crm_app.db import make_engine
from crm_app.migrations import alembic_config
from tests.conftest import create_database, drop_database


@pytest.fixture
def empty_postgres():
    name = f"crm_mig_{uuid.uuid4().hex[:8]}"
    url = create_database(name)
    yield url
    drop_database(name)


@pytest.fixture
def empty_sqlite(tmp_path):
    return f"sqlite:///{tmp_path / 'fresh.db'}"


def _upgrade_and_compare(url: str) -> None:
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    engine = make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}),
                                SQLModel.metadata)
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert diff == []
    assert set(SQLModel.metadata.tables) <= tables
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "head")  # and back again


def test_migrations_apply_from_empty_on_postgresql(empty_postgres):
    _upgrade_and_compare(empty_postgres)


def test_migrations_apply_from_empty_on_sqlite(empty_sqlite):
    _upgrade_and_compare(empty_sqlite)


def test_sqlite_keeps_timezone_aware_utc(empty_sqlite):
    from sqlmodel import Session

    from crm_app.services.access import tenants

    command.upgrade(alembic_config(empty_sqlite), "head")
    engine = make_engine(empty_sqlite)
    with Session(engine) as session:
        tenant, _ = tenants.ensure_tenant(session, name="Loja", slug="loja")
        session.commit()
        from crm_app.models import Tenant

        session.expire_all()
        assert session.get(Tenant, tenant.id).created_at.utcoffset().total_seconds() == 0
    engine.dispose()
