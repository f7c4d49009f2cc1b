"""The layering rules of STYLE.md and docs/architecture.md, enforced on the import statements.

Imports inside functions count everywhere here: they are how circles and upward calls hide.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crm_app", "components", "pages", "workers")
# The bounded contexts of crm_app/services, lowest first: each imports only its own rank or below.
# settings sits just above core: every context reads its settings through it.
CONTEXTS = ("core", "settings", "mail", "access", "audit", "conversations", "channel", "routing", "inbox", "bot",
            "webhooks", "compliance", "analytics", "sla", "alerts", "backups", "campaigns")


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


def test_states_run_one_use_case_per_call_and_leave_errors_to_the_decorator():
    """No transaction opened in a state (`services.call` runs one use case), no catch-all per handler."""
    offenders = []
    for path in _files("crm_app/state"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "crm_app.services" and any(
                    alias.name == "transaction" for alias in node.names):
                offenders.append(f"{path.name}:{node.lineno} imports transaction")
            catch_all = isinstance(node, ast.ExceptHandler) and isinstance(node.type, ast.Name) and (
                node.type.id in ("Exception", "BaseException"))
            if catch_all and path.name not in ("errors.py", "realtime.py"):
                offenders.append(f"{path.name}:{node.lineno} catches everything")
    assert offenders == []


def test_no_state_module_is_over_500_lines():
    assert [p.name for p in _files("crm_app/state") if len(p.read_text().splitlines()) > 500] == []


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

    tables = [t for t in SQLModel.metadata.sorted_tables if t.name not in ("tenants", *INSTALL_WIDE)]
    assert len(tables) >= 15
    for table in tables:
        column = table.c.get("tenant_id")
        assert column is not None, table.name
        assert not column.nullable and column.index, table.name
    for name, nullable_tenant in INSTALL_WIDE.items():
        column = SQLModel.metadata.tables[name].c.get("tenant_id")
        assert (column is not None and column.nullable and column.index) if nullable_tenant else column is None


# Tables of the install, not of one tenant: settings rows whose tenant_id NULL is the global scope (True), and
# the operators' templates, which belong to no tenant (False).
INSTALL_WIDE = {"setting_values": True, "setting_changes": True, "setting_templates": False}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _all_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in _files(*PACKAGES)}


def _imported(path: Path, modules: dict[str, Path]) -> list[tuple[str, list[tuple[str, str]], int]]:
    """(module, [(imported name, bound name)], line) for each import statement, relative ones resolved."""
    return _imports_in(path.read_text(), _module_name(path), path.name == "__init__.py")


def _imports_in(source: str, me: str, is_package: bool) -> list[tuple[str, list[tuple[str, str]], int]]:
    package = me if is_package else me.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):  # `import a.b as c` binds c to a.b; `import a.b` binds the dotted path
            found += [(alias.name, [("", alias.asname or alias.name)], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            found.append((base, [(a.name, a.asname or a.name) for a in node.names], node.lineno))
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _edges(me: str, imports: list, modules: dict[str, Path]) -> set[str]:
    edges = set()
    for base, names, _ in imports:
        for target in [f"{base}.{n}" if n else base for n, _ in names] + [base]:
            found = _resolve(target, modules)
            own_package = found and me.startswith(f"{found}.") and modules[found].name == "__init__.py"
            if found and found != me and not own_package:
                edges.add(found)
    return edges


def _graph() -> dict[str, set[str]]:
    modules = _all_modules()
    return {me: _edges(me, _imported(path, modules), modules) for me, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            nxt = next(edges, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_circles():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _context(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] != ["crm_app", "services"] or len(parts) < 3:
        return None
    return parts[2] if parts[2] in CONTEXTS else None


def test_every_context_is_a_package_with_a_docstring():
    for context in CONTEXTS:
        init = ROOT / "crm_app" / "services" / context / "__init__.py"
        assert init.exists(), context
        assert ast.get_docstring(ast.parse(init.read_text())), context
    loose = {p.stem for p in (ROOT / "crm_app" / "services").glob("*.py")} - {"__init__", "demo"}
    assert loose == set()  # every service module lives in its context


def _upward(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in graph.items():
        mine = _context(module)
        for target in targets:
            theirs = _context(target)
            if mine and theirs and CONTEXTS.index(theirs) > CONTEXTS.index(mine):
                bad.append(f"{module} imports {target}")
    return sorted(bad)


def test_contexts_import_only_downward():
    assert _upward(_graph()) == []


def test_the_upward_check_sees_an_import_inside_a_function():
    me = "crm_app.services.channel.inbound"
    source = "def later():\n    from crm_app.services.bot import trigger\n    trigger.enqueue_turn(1, 2)\n"
    edges = _edges(me, _imports_in(source, me, False), _all_modules())
    assert _upward({me: edges}) == [f"{me} imports crm_app.services.bot", f"{me} imports crm_app.services.bot.trigger"]


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def _private_reaches(me: str, source: str, is_package: bool, modules: dict[str, Path]) -> list[str]:
    """`from x import _y`, `x._y`, `x.y._z` and `alias._y`, where x is another project module."""
    bad, bound = [], {}
    for base, names, line in _imports_in(source, me, is_package):
        for name, alias in names:
            full = f"{base}.{name}" if name else base
            if _resolve(full, modules) == full:
                bound[alias] = full  # a module, reachable under `alias`
            elif name.startswith("_") and not name.startswith("__") and _resolve(base, modules) not in (None, me):
                bad.append(f"{me}:{line} imports {base}.{name}")
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
            continue
        path = _dotted(node.value)
        head, _, rest = (path or "").partition(".")
        if head not in bound:
            continue
        owner = _resolve(".".join(filter(None, (bound[head], rest))), modules)
        if owner and owner != me and owner == ".".join(filter(None, (bound[head], rest))):
            bad.append(f"{me}:{node.lineno} uses {path}.{node.attr}")
    return bad


def test_no_private_name_crosses_modules():
    modules = _all_modules()
    bad = [line for me, path in modules.items()
           for line in _private_reaches(me, path.read_text(), path.name == "__init__.py", modules)]
    assert bad == []


def test_the_private_check_sees_every_spelling():
    modules, me = _all_modules(), "crm_app.state.login"
    source = ("from crm_app.services.access import sessions\n"
              "import crm_app.services.access.logins as lg\n"
              "from crm_app.services import access\n"
              "from crm_app.services.access.sessions import _PEEK\n"
              "sessions._PEEK, lg._park_pending, access.sessions._PEEK, sessions.__name__\n")
    assert [line.split(" ", 1)[1] for line in _private_reaches(me, source, False, modules)] == [
        "imports crm_app.services.access.sessions._PEEK", "uses sessions._PEEK", "uses lg._park_pending",
        "uses access.sessions._PEEK"]


def test_only_the_job_registry_names_job_functions():
    offenders = []
    for path in _files("crm_app", "components", "pages"):
        source, me = path.read_text(), _module_name(path)
        imports = [base for base, names, _ in _imports_in(source, me, path.name == "__init__.py")
                   for full in [base] + [f"{base}.{n}" for n, _ in names if n]
                   if full == "workers.jobs" or full.startswith("workers.jobs.")]
        if (imports or "workers.jobs." in source) and path != ROOT / "crm_app/services/core/jobs.py":
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# Options that moved onto the settings registry (crm_app/services/settings): only that package reads where they
# came from. The Tenant columns and the ai_settings table are gone; the config fields stay as the defaults of
# install-wide settings, read by the catalog alone.
MOVED_TENANT_COLUMNS = ("require_2fa_roles", "session_idle_minutes", "session_absolute_hours",
                        "attendants_edit_any_contact", "keep_deleted_message_text")
MOVED_CONFIG_FIELDS = ("allow_private_outbound_urls", "effective_allow_private_outbound_urls", "sso_endpoint_origins",
                       "sso_endpoint_origin_list", "trusted_proxies", "trusted_proxy_networks",
                       "bot_tenant_concurrency", "api_rate_limit_per_minute", "session_idle_minutes",
                       "session_absolute_hours")
# A name of the old place in code or in SQL text; a setting key ("security.session_idle_minutes") is preceded by a
# dot and does not match.
# Attributes that other objects may legitimately carry (SecurityPolicy.require_2fa_roles, the audit trail's fields):
# wrong on a tenant only.
_AMBIGUOUS = ("require_2fa_roles", "attendants_edit_any_contact")
_MOVED_NAME = re.compile(r"(?<![\w.])(%s)\b|\btenants\.(%s)\b" % (
    "|".join(sorted(set(MOVED_TENANT_COLUMNS + MOVED_CONFIG_FIELDS) - set(_AMBIGUOUS))), "|".join(_AMBIGUOUS)))
_OLD_AI_TABLE = re.compile(r"\b(from|join|into|update|table)\s*\(?\s*['\"]?ai_settings\b", re.IGNORECASE)
SETTINGS_OWNERS = ("crm_app/services/settings/", "crm_app/config.py")


def _moved_option_reads(source: str) -> list[str]:
    """Reads of a moved option: an attribute of the old name (the two shared names only on something called
    tenant), a string naming an old column or config field, or SQL on the old ai_settings table, or AiSettings."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            owner = (_dotted(node.value) or "").lower()
            if node.attr in _AMBIGUOUS:
                if "tenant" in owner:
                    bad.append(f"{node.lineno}: {owner}.{node.attr}")
            elif node.attr in MOVED_TENANT_COLUMNS + MOVED_CONFIG_FIELDS:
                bad.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Name | ast.alias) and "AiSettings" in {getattr(node, "id", None),
                                                                          getattr(node, "name", None)}:
            bad.append(f"{getattr(node, 'lineno', '?')}: AiSettings")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            hit = _MOVED_NAME.search(node.value) or _OLD_AI_TABLE.search(node.value)
            if hit:
                bad.append(f"{node.lineno}: {hit.group(0)!r} in a string")
    return sorted(bad, key=lambda line: int(line.split(":")[0]))


def test_no_code_reads_a_moved_option_outside_the_settings_package():
    offenders = []
    for path in _files(*PACKAGES):
        relative = str(path.relative_to(ROOT))
        if not relative.startswith(SETTINGS_OWNERS):
            offenders += [f"{relative}:{line}" for line in _moved_option_reads(path.read_text())]
    assert offenders == []


def test_the_moved_option_check_sees_every_spelling():
    source = ("tenant.require_2fa_roles\n"
              "policy.require_2fa_roles\n"
              "get_settings().trusted_proxy_networks\n"
              "config.bot_tenant_concurrency\n"
              "getattr(get_settings(), 'api_rate_limit_per_minute')\n"
              "sa.select(_tenants.c.keep_deleted_message_text)\n"
              "text('SELECT api_key FROM ai_settings')\n"
              "from crm_app.models import AiSettings\n"
              "value(None, 'security.session_idle_minutes', tenant_id=1)\n"
              "audit.record(action='ai_settings.update', after={'require_2fa_roles': []})\n"
              "text('UPDATE tenants SET x = 1 WHERE tenants.attendants_edit_any_contact')\n")
    assert [line.split(":")[0] for line in _moved_option_reads(source)] == ["1", "3", "4", "5", "6", "7", "8", "11"]


def test_the_old_option_columns_and_table_are_gone():
    from sqlmodel import SQLModel

    import crm_app.models

    assert not set(SQLModel.metadata.tables["tenants"].c.keys()) & set(MOVED_TENANT_COLUMNS)
    assert "ai_settings" not in SQLModel.metadata.tables and not hasattr(crm_app.models, "AiSettings")
