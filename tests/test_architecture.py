"""The layering rules of STYLE.md, enforced on the import statements."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(*folders: str) -> list[Path]:
    files = [p for folder in folders for p in (ROOT / folder).rglob("*.py")]
    assert files, f"no python files under {folders}"
    return files


def _violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in files:
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


def test_core_layers_never_import_reflex():
    files = _files("crm_app/domain", "crm_app/services", "crm_app/integrations", "crm_app/api", "workers")
    assert _violations(files, ("reflex", "pages", "components", "crm_app.state")) == []


def test_domain_is_pure():
    forbidden = ("sqlmodel", "sqlalchemy", "redis", "rq", "httpx", "crm_app.db", "crm_app.services",
                 "crm_app.models", "crm_app.queue", "crm_app.integrations", "crm_app.config")
    assert _violations(_files("crm_app/domain"), forbidden) == []


def test_state_reaches_data_only_through_services():
    forbidden = ("sqlmodel", "sqlalchemy", "crm_app.db", "crm_app.models", "crm_app.queue", "httpx")
    assert _violations(_files("crm_app/state"), forbidden) == []


def test_pages_and_components_only_talk_to_state():
    forbidden = ("sqlmodel", "sqlalchemy", "crm_app.db", "crm_app.models", "crm_app.services",
                 "crm_app.queue", "crm_app.integrations", "httpx")
    assert _violations(_files("pages", "components"), forbidden) == []


def test_only_integrations_import_httpx():
    layers = ("crm_app/domain", "crm_app/services", "crm_app/api", "crm_app/state", "workers", "pages",
              "components")
    assert _violations(_files(*layers), ("httpx",)) == []


def test_only_config_reads_the_environment():
    offenders = []
    for path in _files("crm_app", "workers", "pages", "components"):
        if path.name == "config.py" and path.parent.name == "crm_app":
            continue
        source = path.read_text()
        if "os.environ" in source or "os.getenv" in source:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_every_tenant_owned_table_has_an_indexed_non_null_tenant_id():
    from sqlmodel import SQLModel

    import crm_app.models  # noqa: F401

    tables = [t for t in SQLModel.metadata.sorted_tables if t.name != "tenants"]
    assert len(tables) >= 15
    for table in tables:
        column = table.c.get("tenant_id")
        assert column is not None, table.name
        assert not column.nullable and column.index, table.name
