"""Alembic environment bound to `SQLModel.metadata`.

The URL comes from the `sqlalchemy.url` attribute when a caller sets it
(tests, `python -m crm_app migrate`), else from settings.
"""

from alembic import context
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import crm_app.models  # noqa: F401  (registers the tables)
from crm_app.db import EncryptedString, UTCDateTime, make_engine

config = context.config
target_metadata = SQLModel.metadata


def _render_item(type_, obj, autogen_context):
    """Render our portable column types as plain SQLAlchemy ones."""
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, EncryptedString):
        return "sa.Text()"
    if isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def _url() -> str:
    url = config.attributes.get("sqlalchemy.url")
    if url:
        return url
    from crm_app.config import get_settings

    return get_settings().effective_database_url


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=_render_item,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
