"""The isolation suite's world and machinery: two tenants, a logged-in actor per role, a handler runner, snapshots.

Tenant B is the victim: every text it owns carries VICTIM (and admin-only texts also ADMIN_ONLY), so "nothing of it
was returned" is a search for the marker in everything a handler left in state or returned. Its rows are snapshotted
before and after each attack, so "nothing of it changed" is a plain equality.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
from dataclasses import dataclass, field

import reflex as rx
from reflex.istate.data import HeaderData, RouterData, SessionData
from sqlalchemy import text
from sqlmodel import Session

from crm_app.db import utcnow
from crm_app.models import CsatSurvey, Email, Incident, User, WebhookDelivery, WebhookEvent
from crm_app.services import settings, sla, webhooks
from crm_app.services.access import api_tokens, sessions
from crm_app.services.bot import knowledge
from crm_app.services.core.actors import Actor
from crm_app.services.inbox import canned
from crm_app.services.routing import teams
from tests.factories import make_inbox, make_tenant, make_user
from tests.support.inbox import add_text, quick_conversation

VICTIM = "VICTIMX"
ADMIN_ONLY = "ADMONLYX"
ROLES = ("admin", "supervisor", "attendant", "dpo", "executive")
# Rows that change on every request no matter who asks (session touch, the audit trail of refusals).
VOLATILE_TABLES = {"audit_logs", "audit_details", "audit_chain_heads", "alembic_version", "login_attempts", "ai_usage"}
# Columns touched by any use of the row by its own tenant (a token's last use, a user's presence heartbeat).
VOLATILE_COLUMNS = {"last_used_at", "last_seen_at"}
VOLATILE_BY_TABLE = {"sessions": {"expires_at"}}  # the idle timeout slides on every request of the session's owner


@dataclass
class Side:
    """One tenant with a user of each role, their session cookies, and one row of each owned kind."""

    tenant_id: int
    actors: dict[str, Actor] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    api_secrets: dict[str, str] = field(default_factory=dict)


def build_side(db: Session, *, marker: str) -> Side:
    """A tenant full of marked rows: inbox, contact, conversation, message, canned, team, token, knowledge entry."""
    tenant = make_tenant(db)
    db.execute(text("UPDATE tenants SET name = :n WHERE id = :id"), {"n": f"Tenant {marker}", "id": tenant.id})
    side = Side(tenant_id=tenant.id)
    side.ids["tenant"] = tenant.id
    for role in ROLES:
        actor = make_user(db, tenant.id, role=role)
        db.execute(text("UPDATE users SET name = :n WHERE id = :id"), {"n": f"{role} {marker}", "id": actor.user_id})
        side.actors[role] = actor
        side.ids[role] = actor.user_id
        side.cookies[role] = sessions.open_session(db, user=db.get(User, actor.user_id), ip="127.0.0.1")
    db.commit()
    side.ids["session"] = db.execute(text("SELECT max(id) FROM sessions WHERE user_id = :u"),
                                     {"u": side.ids["admin"]}).scalar()
    admin = side.actors["admin"]
    inbox = make_inbox(db, tenant.id, name=f"Inbox {marker}")
    conversation = quick_conversation(db, inbox.id, phone=f"+55119{tenant.id % 10**8:08d}", name=f"Contact {marker}",
                                      assignee_id=side.ids["attendant"])
    message = add_text(db, conversation, f"hello {marker}")
    others = quick_conversation(db, inbox.id, phone=f"+55118{tenant.id % 10**8:08d}", name=f"Other {marker}",
                                assignee_id=side.ids["admin"])
    db.commit()
    side.ids["admins_conversation"] = others.id
    side.ids["dead_event"] = db.execute(text(
        "INSERT INTO inbound_events (tenant_id, inbox_id, body, content_hash, status, attempts, last_error,"
        " received_at) VALUES (:t, :i, :b, md5(:b) || md5(:b), 'dead', 5, :e, now()) RETURNING id"),
        {"t": tenant.id, "i": inbox.id, "b": f'{{"marker": "{marker}"}}', "e": f"boom {marker}"}).scalar()
    db.commit()
    side.ids.update(inbox=inbox.id, conversation=conversation.id, contact=conversation.contact_id, message=message.id)
    side.ids["csat_survey"] = _csat_survey(db, conversation, side.ids["attendant"], marker)
    side.ids["canned"] = canned.create_canned(db, actor=admin, short_code=f"c{tenant.id}",
                                              content=f"canned {marker}").id
    side.ids["team"] = teams.create_team(db, actor=admin, name=f"Team {marker}").id
    row, secret = api_tokens.create(db, actor=admin, name=f"token {marker} {ADMIN_ONLY}",
                                    scopes=list(api_tokens.SCOPES))
    side.ids["api_token"], side.api_secrets["all"] = row.id, secret
    for role in ("supervisor", "attendant", "dpo", "executive"):
        row, secret = api_tokens.create(db, actor=admin, name=f"{role} {marker} {ADMIN_ONLY}",
                                        scopes=list(api_tokens.SCOPES), user_id=side.ids[role])
        side.api_secrets[role] = secret
    row, secret = api_tokens.create(db, actor=admin, name=f"narrow {marker} {ADMIN_ONLY}", scopes=["users:read"])
    side.api_secrets["narrow"] = secret
    row, secret = api_tokens.create(db, actor=admin, name=f"narrow2 {marker} {ADMIN_ONLY}",
                                    scopes=["conversations:read"])
    side.api_secrets["narrow_no_users"] = secret
    side.ids["knowledge"] = knowledge.create_entry(db, actor=admin, title=f"kb {marker} {ADMIN_ONLY}",
                                                   content=f"secret {marker}").id
    email = Email(tenant_id=tenant.id, recipient=f"{marker.lower()}@example.com", template="notification",
                  locale="pt-BR", subject=f"mail {marker} {ADMIN_ONLY}", body_text=f"text {marker}",
                  body_html=f"<p>{marker}</p>", status="failed", attempts=1, last_error=f"421 {marker}")
    db.add(email)
    changes = settings.update(db, actor=None, tenant_id=tenant.id, changes={
        "ai.system_prompt": f"prompt {marker} {ADMIN_ONLY}", "ai.model": f"model-{marker}"})
    side.ids["setting_change"] = changes[0].id
    incident = Incident(tenant_id=tenant.id, title=f"incident {marker} {ADMIN_ONLY}", detected_at=utcnow(),
                        data_categories=["contact"], affected_count=3, description=f"leak {marker}")
    db.add(incident)
    db.commit()
    side.ids["email"] = email.id
    side.ids["incident"] = incident.id
    side.ids["webhook"], side.ids["webhook_delivery"] = _webhook(db, admin, marker)
    side.ids["sla_policy"] = sla.create_policy(db, actor=admin, name=f"sla {marker}", resolution_minutes=60,
                                               conditions=[{"kind": "attribute", "key": "plano",
                                                            "value": marker}]).id
    db.commit()
    _privacy_rows(db, side, marker)
    _export_row(db, side)
    return side


def _csat_survey(db: Session, conversation, attendant_id: int, marker: str) -> int:
    """A rated CSAT survey of the conversation, its comment marked."""
    survey = CsatSurvey(tenant_id=conversation.tenant_id, conversation_id=conversation.id, cycle=0,
                        contact_id=conversation.contact_id, contact_inbox_id=conversation.contact_inbox_id,
                        inbox_id=conversation.inbox_id, attendant_id=attendant_id, status="done", rating=2,
                        rated_at=utcnow(), comment=f"csat {marker}", sent_at=utcnow())
    db.add(survey)
    db.commit()
    return survey.id


def _export_row(db: Session, side: Side) -> None:
    """A finished export of the tenant's conversations (its file holds the marked contact), asked by the admin."""
    from crm_app.services import exports
    from crm_app.services.analytics import criteria
    from crm_app.services.exports import run

    today = utcnow().date()
    row = exports.create_export(db, actor=side.actors["admin"], kind="conversations", format="csv",
                                filters=criteria.Filters(today - dt.timedelta(days=2), today + dt.timedelta(days=1)))
    db.commit()
    run.run_export(row.id)  # built here rather than by a worker
    side.ids["export"] = row.id


def _webhook(db: Session, admin: Actor, marker: str) -> tuple[int, int]:
    """An endpoint of the tenant's (its description marked) with one failed delivery in its log."""
    view, _ = webhooks.create_endpoint(db, actor=admin, url=f"http://127.0.0.1:9/{marker}",
                                       description=f"hook {marker} {ADMIN_ONLY}", headers={"X-Token": marker})
    event = WebhookEvent(tenant_id=admin.tenant_id, msg_id=f"msg_{marker}", event_type="user.created",
                         payload={"type": "user.created", "data": {"marker": marker}})
    db.add(event)
    db.flush()
    delivery = WebhookDelivery(tenant_id=admin.tenant_id, endpoint_id=view.id, event_id=event.id, status="failed",
                               attempts=1, last_error=f"boom {marker}")
    db.add(delivery)
    db.commit()
    return view.id, delivery.id


def _privacy_rows(db: Session, side: Side, marker: str) -> None:
    """A data-subject request, a legal hold, a consent and a retention policy of the tenant, marked."""
    from crm_app.services.compliance import consent, holds, report, requests, retention

    dpo, contact_id = side.actors["dpo"], side.ids["contact"]
    side.ids["privacy_request"] = requests.create_request(db, actor=dpo, contact_id=contact_id, kind="correction",
                                                          details=f"fix {marker}").id
    side.ids["hold"] = holds.place_hold(db, actor=dpo, contact_id=contact_id,
                                        reason=f"hold {marker}").id
    consent.record(db, tenant_id=side.tenant_id, contact_id=contact_id, purpose="marketing", granted=True,
                   source="admin", proof=f"proof {marker}")
    side.ids["retention_policy"] = retention.create_policy(db, actor=dpo, action="message_bodies", days=3650).id
    access_id = requests.create_request(db, actor=dpo, contact_id=contact_id, kind="access").id
    db.commit()
    requests.run_request(access_id)  # the bundle, built here rather than by a worker
    side.ids["bundle_request"] = access_id
    side.ids["bundle_token"] = requests.create_download_link(db, actor=dpo, request_id=access_id)
    db.commit()
    side.ids["dpo_report"] = report.generate(side.tenant_id, utcnow().date())


# ---- snapshots ---------------------------------------------------------------------------------------------------


def tenant_snapshot(db: Session, tenant_id: int) -> dict[str, list]:
    """Every row the tenant owns (tables with tenant_id), its tenants row, and all rows of tables without tenant_id.

    One round trip: each table's rows as JSON text, volatile columns removed (60 queries per snapshot were half
    of the isolation suite's time)."""
    db.rollback()
    names, sql = _snapshot_query(db)
    snap: dict[str, list] = {name: [] for name in names}
    for name, row in db.execute(text(sql), {"t": tenant_id}):
        snap[name].append(row)
    db.rollback()
    return {name: sorted(rows) for name, rows in snap.items()}


_SNAPSHOT_SQL: dict[str, tuple[list[str], str]] = {}  # database -> (tables, query); the schema is fixed per run


def _snapshot_query(db: Session) -> tuple[list[str], str]:
    database = db.execute(text("SELECT current_database()")).scalar()
    if database not in _SNAPSHOT_SQL:
        tables = db.execute(text(
            "SELECT table_name, bool_or(column_name = 'tenant_id') FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name IN (SELECT tablename FROM pg_tables WHERE schemaname = "
            "'public') GROUP BY table_name ORDER BY table_name")).all()
        names, parts = [], []
        for name, owned in tables:
            if name in VOLATILE_TABLES:
                continue
            minus = "".join(f" - '{c}'" for c in sorted(VOLATILE_COLUMNS | VOLATILE_BY_TABLE.get(name, set())))
            where = " WHERE r.id = :t" if name == "tenants" else " WHERE r.tenant_id = :t" if owned else ""
            names.append(name)
            parts.append(f"SELECT '{name}', (to_jsonb(r){minus})::text FROM \"{name}\" r{where}")
        _SNAPSHOT_SQL[database] = names, " UNION ALL ".join(parts)
    return _SNAPSHOT_SQL[database]


def snapshot_diff(before: dict, after: dict) -> list[str]:
    return [name for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)]


# ---- running a Reflex handler as a logged-in actor ------------------------------------------------------------------


def _set_router(state: rx.State, router: RouterData) -> None:
    state.router = router
    for sub in state.substates.values():
        _set_router(sub, router)


def fresh_state(state_cls: type[rx.State], cookie: str | None, *,
                browser: str | None = None) -> tuple[rx.State, rx.State]:
    """(root, substate) as a new tab whose websocket handshake carried `cookie` as the session cookie (and
    `browser` as its pre-login cookie, if given)."""
    root = rx.State(_reflex_internal_init=True)
    jar = {sessions.COOKIE_NAME: cookie, sessions.PRELOGIN_COOKIE: browser}
    header = "; ".join(f"{name}={value}" for name, value in jar.items() if value)
    router = RouterData(session=SessionData(client_token="iso-tab", client_ip="127.0.0.1", session_id="iso"),
                        headers=HeaderData(host="127.0.0.1", cookie=header))
    _set_router(root, router)
    return root, root.get_substate(state_cls.get_full_name().split(".")[1:])


async def run_handler(state: rx.State, name: str, args: tuple, *, depth: int = 3) -> list:
    """Run the real handler function, draining generators; follow the argument-less events of our states it chains
    to (as Reflex would); returns whatever was returned or yielded."""
    handler = type(state).event_handlers[name]
    out = handler.fn(state, *args)
    produced = []
    if inspect.isasyncgen(out):
        async for item in out:
            produced.append(item)
    elif inspect.isgenerator(out):
        produced.extend(out)
    elif inspect.isawaitable(out):
        produced.append(await out)
    else:
        produced.append(out)
    if depth:
        for item in _flatten(produced):
            target = getattr(item, "handler", item)
            full = getattr(target, "state_full_name", "")
            if not full.startswith("reflex___state____state.") or getattr(item, "args", ()):
                continue
            if getattr(target, "is_background", False):  # Reflex runs it detached; its rows in cases.py say why
                continue
            root = _root_of(state)
            sub = root.get_substate(full.split(".")[1:])
            produced += await run_handler(sub, target.fn.__name__, (), depth=depth - 1)
    return produced


def _flatten(items):
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _flatten(item)
        else:
            yield item


def _root_of(state: rx.State) -> rx.State:
    while state.parent_state is not None:
        state = state.parent_state
    return state


def visible_text(root: rx.State, produced: list) -> str:
    """Everything a handler could have shown the client: every var of every state, and what it returned."""
    try:
        data = json.dumps(root.dict(), default=repr)
    except Exception:  # a computed var that needs a page context: fall back to the raw vars
        data = repr({k: v for k, v in vars(root).items()})
    backend = repr([vars(s) for s in _all_states(root)])
    return data + backend + repr(produced)


def _all_states(state: rx.State):
    yield state
    for sub in state.substates.values():
        yield from _all_states(sub)


# ---- the world, built once and restored -------------------------------------------------------------------------
# Building the two tenants costs about a second (users, tokens, a bundle, a PDF report); the isolation suite runs
# ~250 tests on it. The first test of each WORLD_TTL window builds it and captures every table (COPY), the sequences
# and the files it wrote; the others restore that capture onto the freshly truncated database: the same rows, ids
# and cookies, byte for byte. The window keeps every timestamp in it young (session idle timeouts, today's date).

WORLD_TTL = 120.0


@dataclass
class WorldCapture:
    sides: tuple[Side, Side]
    tables: dict[str, bytes]  # table -> COPY BINARY of its rows
    sequences: list[tuple[str, int]]
    files: dict[str, bytes]  # path -> content of what the build wrote
    built_at: float


def _raw(db: Session):
    return db.connection().connection.driver_connection


def _data_files() -> dict[str, tuple[float, int]]:
    from crm_app.config import get_settings

    root = get_settings().data_dir
    return {str(p): (p.stat().st_mtime, p.stat().st_size) for p in root.rglob("*") if p.is_file()}


def _public_tables(cur) -> list[str]:
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    return [r[0] for r in cur.fetchall()]


def _filled_tables(cur) -> set[str]:
    tables = _public_tables(cur)
    cur.execute(" UNION ALL ".join(f"SELECT '{t}' FROM (SELECT 1 FROM \"{t}\" LIMIT 1) x" for t in tables))
    return {r[0] for r in cur.fetchall()}


def build_world(db: Session, build) -> WorldCapture | None:
    """`build()` -> the sides, captured for restoring; None when the build wrote to a table the truncate keeps."""
    import time

    db.commit()
    cur = _raw(db).cursor()
    kept = _filled_tables(cur)  # tables the per-test truncate leaves alone (alembic_version, seeded rows)
    kept_counts = {t: cur.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in kept}
    files_before = _data_files()
    sides = build()
    db.commit()
    cur = _raw(db).cursor()
    if any(cur.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] != n for t, n in kept_counts.items()):
        return None
    tables = {}
    for table in sorted(_filled_tables(cur) - kept):
        with cur.copy(f'COPY "{table}" TO STDOUT (FORMAT BINARY)') as copy:
            tables[table] = b"".join(bytes(chunk) for chunk in copy)
    cur.execute("SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences "
                "WHERE schemaname = 'public' AND last_value IS NOT NULL")
    sequences = [(name, int(value)) for name, value in cur.fetchall()]
    db.commit()
    after = _data_files()
    files = {p: open(p, "rb").read() for p, stamp in after.items() if files_before.get(p) != stamp}
    return WorldCapture(sides, tables, sequences, files, time.monotonic())


def restore_world(db: Session, world: WorldCapture) -> tuple[Side, Side]:
    """Put the captured rows, sequences and files back on the truncated database; fresh copies of the sides."""
    import copy as _copy
    import os

    db.commit()
    conn = _raw(db)
    with conn.transaction():
        cur = conn.cursor()
        cur.execute("SET LOCAL session_replication_role = replica")  # rows as they were: no triggers, no FK order
        for table, data in world.tables.items():
            with cur.copy(f'COPY "{table}" FROM STDIN (FORMAT BINARY)') as copy:
                copy.write(data)
        for name, value in world.sequences:
            cur.execute("SELECT setval(%s, %s, true)", (name, value))
    for path, content in world.files.items():
        if not os.path.exists(path) or open(path, "rb").read() != content:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as out:
                out.write(content)
    return _copy.deepcopy(world.sides)
