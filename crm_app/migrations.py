"""Apply the Alembic migrations from code (CLI, launcher, tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from crm_app.config import PROJECT_ROOT, get_settings


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config for the project, bound to `url` or the settings' URL."""
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    cfg.attributes["sqlalchemy.url"] = url or get_settings().effective_database_url
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision`."""
    if (url or get_settings().effective_database_url).startswith("sqlite"):
        get_settings().data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def current_head() -> str:
    """The newest revision in the scripts directory."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
