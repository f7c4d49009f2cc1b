"""Per-day counts and sums (tenant day × number × team × attendant), computed from the facts and the messages.

`raw_days` computes them straight from the rows; `rebuild` stores that in `analytics_daily` for a range of days
(what the jobs and `python -m crm_app rebuild-rollups` run), so the stored rollups equal the raw figures by
construction, and a test holds them to it. Days are cut in the tenant's timezone.

The raw queries run on PostgreSQL and on the laptop's SQLite (`local_day`, `local_hour` and `run` write the few
parts that differ); the stored rollups are PostgreSQL's only, and on SQLite every day is read raw.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy import text as sql
from sqlmodel import Session, delete, func, select

from crm_app.db import utcnow
from crm_app.errors import CRMError, NotFound, ValidationError
from crm_app.models import (
    AnalyticsConversationHour,
    AnalyticsDaily,
    AnalyticsDailyLabel,
    AnalyticsHourly,
    ConversationLabel,
    PresenceInterval,
    TeamMember,
    Tenant,
)


class AnalyticsNeedsPostgres(CRMError):
    """The figures are computed with PostgreSQL's date, time-zone and percentile functions."""

    code = "analytics_needs_postgresql"
    status = 503


def is_postgres(session: Session) -> bool:
    """Whether the session runs on PostgreSQL (else the laptop's SQLite)."""
    return session.get_bind().dialect.name == "postgresql"


def local_day(session: Session, column: str) -> str:
    """SQL for the tenant's local day (`:tz`) of a stored UTC moment."""
    if is_postgres(session):
        return f"(({column} AT TIME ZONE :tz)::date)"
    return f"crm_local_date({column}, :tz)"  # a Python function each SQLite connection gets (crm_app.db)


def local_hour(session: Session, column: str) -> str:
    """SQL for the tenant's local hour (0–23, `:tz`) of a stored UTC moment."""
    if is_postgres(session):
        return f"extract(hour FROM ({column} AT TIME ZONE :tz))::int"
    return f"crm_local_hour({column}, :tz)"


def run(session: Session, query: str, params: dict):
    """Execute an analytics query; on SQLite moments are bound as they are stored there (naive UTC text)."""
    if not is_postgres(session):
        params = {k: _as_stored(v) for k, v in params.items()}
    return session.execute(sql(query), params)


def _as_stored(value):
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value.isoformat() if isinstance(value, dt.date) else value


def as_date(value) -> dt.date:
    """A day read back from either dialect (SQLite answers text)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def as_utc(value) -> dt.datetime | None:
    """A moment read back by plain SQL from either dialect (SQLite answers naive UTC text)."""
    if value is None:
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def require_postgres(session: Session) -> None:
    """Refuse, with a clear reason, on the embedded SQLite database: the stored rollups are PostgreSQL's only."""
    if not is_postgres(session):
        raise AnalyticsNeedsPostgres("analytics figures need PostgreSQL: set DATABASE_URL (the facts are kept "
                                     "meanwhile, and `rebuild-rollups` fills the figures once it runs on PostgreSQL)")


COUNTS = ("opened", "closed", "contained", "unanswered", "handoffs", "windows_missed", "messages_in",
          "messages_out", "bot_messages", "failed_sends", "frt_count", "resolution_count", "first_contact")
SUMS = ("frt_sum", "resolution_sum")
Key = tuple[dt.date, int, int, int]  # day, inbox, team, attendant (0: none)


@dataclass
class DayRow:
    """One rollup row's figures."""

    values: dict[str, float] = field(default_factory=lambda: dict.fromkeys(COUNTS + SUMS, 0))
    hourly_in: list[int] = field(default_factory=lambda: [0] * 24)
    # Conversations whose customer wrote in that local hour (the heatmap's cells; a click opens exactly them).
    hourly_ids: dict[int, set[int]] = field(default_factory=dict)  # local hour -> ids (only hours with some)
    hourly_online: list[float] = field(default_factory=lambda: [0.0] * 24)


_FACT_QUERIES: dict[str, tuple[str, str, str, bool]] = {
    # metric group: (timestamp column, attendant column, select list, once per conversation and local day)
    "opened": ("f.opened_at", "f.assignee_id", "count(*) AS opened", True),
    "closed": ("f.closed_at", "f.assignee_id", "count(*) AS closed", True),
    "cycles_closed": ("f.closed_at", "f.assignee_id",
                      "count(*) FILTER (WHERE f.contained) AS contained, "
                      "count(*) FILTER (WHERE f.unanswered) AS unanswered, "
                      "count(f.resolution_seconds) AS resolution_count, "
                      "count(*) FILTER (WHERE f.first_contact) AS first_contact, "
                      "coalesce(sum(f.resolution_seconds), 0) AS resolution_sum", False),
    "handoffs": ("f.handoff_at", "f.assignee_id", "count(*) AS handoffs", False),
    "frt": ("f.first_human_at", "f.first_human_user_id",
            "count(f.frt_seconds) AS frt_count, coalesce(sum(f.frt_seconds), 0) AS frt_sum", False),
}


def last_of_day(session: Session, column: str) -> str:
    """An extra condition: the fact `f` is its conversation's last cycle with `column` on that local day (`:tz`).

    "Opened" and "closed" count a conversation once per local day however often it reopens or closes that day
    (the inbox lists it once), under the number, team and attendant of that day's last cycle; the click-through
    applies the same condition, so a bar's value is the count of conversations it opens.
    """
    later = "p." + column.removeprefix("f.")
    return (" AND NOT EXISTS (SELECT 1 FROM conversation_facts p WHERE p.conversation_id = f.conversation_id "
            f"AND p.cycle > f.cycle AND {local_day(session, later)} = {local_day(session, column)})")


def conversation_filter(label_id: int | None) -> str:
    """An extra condition on `f.conversation_id` (the label filter), or an empty string."""
    if label_id is None:
        return ""
    return " AND f.conversation_id IN (SELECT conversation_id FROM conversation_labels WHERE label_id = :label_id)"


def raw_days(session: Session, tenant_id: int, tz: str, since: dt.date, until: dt.date,
             label_id: int | None = None, ids: bool = True) -> dict[Key, DayRow]:
    """The figures of local days [since, until] straight from the rows, per number, team and attendant.

    Args:
        session: The caller's session.
        tenant_id: The tenant.
        tz: The tenant's timezone (IANA name, validated by the caller).
        since: The first local day.
        until: The last local day (inclusive).
        label_id: Only conversations with this label.
        ids: Whether to collect the heatmap's conversation ids (`DayRow.hourly_ids`; the series needs none).

    Returns:
        Rows by (day, inbox, team, attendant).
    """
    start, end = day_bounds(tz, since, until)
    params = {"tenant_id": tenant_id, "start": start, "end": end, "label_id": label_id, "tz": tz}
    rows: dict[Key, DayRow] = defaultdict(DayRow)
    extra = conversation_filter(label_id)
    for column, attendant, select_list, daily in _FACT_QUERIES.values():
        once = last_of_day(session, column) if daily else ""
        query = (f"SELECT {local_day(session, column)} AS day, f.inbox_id, coalesce(f.team_id, 0) AS team_id, "
                 f"coalesce({attendant}, 0) AS attendant_id, {select_list} FROM conversation_facts f "
                 f"WHERE f.tenant_id = :tenant_id AND {column} >= :start AND {column} < :end{once}{extra} "
                 "GROUP BY 1, 2, 3, 4")
        _merge(rows, run(session, query, params).mappings())
    _merge(rows, run(session, _windows_query(local_day(session, "r.at"), extra), params).mappings())
    _add_messages(session, rows, tz, params, extra, ids)
    if label_id is None:
        _add_presence(session, rows, tenant_id, tz, start, end)
    return rows


def _windows_query(day: str, extra: str) -> str:
    return (f"SELECT {day} AS day, f.inbox_id, coalesce(f.team_id, 0) AS team_id, coalesce(r.user_id, 0) AS "
            "attendant_id, count(*) AS windows_missed FROM conversation_responses r JOIN conversation_facts f "
            "ON f.id = r.fact_id WHERE r.tenant_id = :tenant_id AND r.kind = 'window_missed' AND r.at >= :start "
            f"AND r.at < :end{extra} GROUP BY 1, 2, 3, 4")


def _add_messages(session: Session, rows: dict[Key, DayRow], tz: str, params: dict, extra: str,
                  with_ids: bool = True) -> None:
    """Messages in (customer, by the conversation's assignee) and out (a person's, by its sender; the bot's), and
    per local hour the conversations the customers wrote in (one scan of the messages)."""
    ids = ("array_agg(DISTINCT m.conversation_id)" if is_postgres(session)
           else "group_concat(DISTINCT m.conversation_id)") + " FILTER (WHERE m.sender_type = 'customer') AS ids"
    ids = ids if with_ids else "NULL AS ids"
    query = (f"SELECT {local_day(session, 'm.created_at')} AS day, {local_hour(session, 'm.created_at')} AS hour, "
             "c.inbox_id, "
             "coalesce(c.team_id, 0) AS team_id, "
             "CASE WHEN m.sender_type = 'attendant' THEN coalesce(m.sender_user_id, 0) "
             "ELSE coalesce(c.assignee_id, 0) END AS attendant_id, "
             "count(*) FILTER (WHERE m.sender_type = 'customer') AS messages_in, "
             "count(*) FILTER (WHERE m.sender_type = 'attendant') AS messages_out, "
             "count(*) FILTER (WHERE m.sender_type = 'bot') AS bot_messages, "
             f"count(*) FILTER (WHERE m.status = 'failed' AND m.direction = 'outbound') AS failed_sends, {ids} "
             "FROM messages m JOIN conversations c ON c.id = m.conversation_id "
             "WHERE m.tenant_id = :tenant_id AND m.created_at >= :start AND m.created_at < :end "
             "AND m.sender_type IN ('customer', 'attendant', 'bot')"
             + extra.replace("f.conversation_id", "m.conversation_id") + " GROUP BY 1, 2, 3, 4, 5")
    for row in run(session, query, params).mappings():
        target = rows[(as_date(row["day"]), row["inbox_id"], row["team_id"], row["attendant_id"])]
        for name in ("messages_in", "messages_out", "bot_messages", "failed_sends"):
            target.values[name] += row[name]
        target.hourly_in[row["hour"]] += row["messages_in"]
        if row["ids"]:
            found = row["ids"] if isinstance(row["ids"], list) else [int(i) for i in str(row["ids"]).split(",")]
            target.hourly_ids.setdefault(row["hour"], set()).update(found)


def _add_presence(session: Session, rows: dict[Key, DayRow], tenant_id: int, tz: str, start: dt.datetime,
                  end: dt.datetime) -> None:
    """Seconds online per local hour, per attendant (rows with no number or team)."""
    zone = ZoneInfo(tz)
    p = PresenceInterval
    ended_at = func.coalesce(p.ended_at, p.last_seen_at)
    intervals = session.exec(select(p.user_id, p.started_at, p.ended_at, p.last_seen_at).where(
        p.tenant_id == tenant_id, p.status == "online", p.started_at < end, ended_at > start)).all()
    for user_id, began, ended, seen in intervals:
        ended = ended or seen
        cursor, stop = max(began, start), min(ended, end)
        while cursor < stop:
            local = cursor.astimezone(zone)
            next_hour = (local.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)).astimezone(dt.UTC)
            piece_end = min(next_hour, stop)
            rows[(local.date(), 0, 0, user_id)].hourly_online[local.hour] += (piece_end - cursor).total_seconds()
            cursor = piece_end


def _merge(rows: dict[Key, DayRow], found) -> None:
    for row in found:
        target = rows[(as_date(row["day"]), row["inbox_id"], row["team_id"], row["attendant_id"])]
        for name, value in row.items():
            if name in target.values:
                target.values[name] += float(value) if name in SUMS else int(value)


def day_bounds(tz: str, since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC moments where local day `since` starts and local day `until` ends."""
    zone = ZoneInfo(tz)
    start = dt.datetime.combine(since, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    return start, end


def tenant_timezone(session: Session, tenant_id: int) -> str:
    """The tenant's timezone; NotFound for a missing tenant."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    return tenant.timezone or "America/Sao_Paulo"


def rebuild(session: Session, tenant_id: int, since: dt.date, until: dt.date | None = None) -> int:
    """Replace the stored rollups of local days [since, until] (default: through today) with the raw figures.

    Idempotent: running it twice stores the same rows. Runs in the caller's transaction.

    Args:
        session: The caller's session.
        tenant_id: The tenant.
        since: The first local day.
        until: The last local day (inclusive).

    Returns:
        How many daily rows were stored.
    """
    require_postgres(session)
    tz = tenant_timezone(session, tenant_id)
    until = until or utcnow().astimezone(ZoneInfo(tz)).date()
    if until < since:
        raise ValidationError("the first day is after the last", field="since")
    # One rebuild of a tenant at a time (the periodic job, a restatement, the command): two that delete and
    # insert the same days at once would collide on the unique keys.
    session.execute(sql("SELECT pg_advisory_xact_lock(:ns, :tenant_id)"), {"ns": _LOCK_NAMESPACE,
                                                                              "tenant_id": tenant_id})
    rows = raw_days(session, tenant_id, tz, since, until)
    for model in (AnalyticsDaily, AnalyticsDailyLabel, AnalyticsHourly, AnalyticsConversationHour):
        session.exec(delete(model).where(model.tenant_id == tenant_id, model.day >= since, model.day <= until))
    now = utcnow()
    daily = [{"tenant_id": tenant_id, "day": day, "inbox_id": inbox, "team_id": team, "attendant_id": user,
              "online_seconds": sum(row.hourly_online), "built_at": now, **row.values}
             for (day, inbox, team, user), row in rows.items()]
    hourly = hourly_rows(rows, memberships(session, tenant_id))
    slots = [{"tenant_id": tenant_id, "day": k[0], "weekday": k[0].weekday(), "hour": k[1], "inbox_id": k[2],
              "team_id": k[3], "conversation_id": conversation_id}
             for k, v in hourly.items() for conversation_id in sorted(v[3])]
    for model, values in ((AnalyticsDaily, daily), (AnalyticsHourly, [
            {"tenant_id": tenant_id, "day": k[0], "hour": k[1], "inbox_id": k[2], "team_id": k[3],
             "messages_in": v[0], "online_seconds": v[1], "conversations_in": len(v[3])} for k, v in hourly.items()]),
            (AnalyticsConversationHour, slots),
            (AnalyticsDailyLabel, label_rows(session, tenant_id, tz, since, until))):
        for start in range(0, len(values), 5000):
            session.execute(insert(model), values[start:start + 5000])
    return len(daily)


def label_rows(session: Session, tenant_id: int, tz: str, since: dt.date, until: dt.date) -> list[dict]:
    """The `analytics_daily_labels` rows of local days [since, until]: for each label the tenant's conversations
    carry, the raw figures of its conversations (what a label filter reads raw), one row per day × number × team
    × attendant."""
    labels = session.exec(select(ConversationLabel.label_id).where(ConversationLabel.tenant_id == tenant_id)
                          .distinct()).all()
    out = []
    for label_id in sorted(labels):
        for (day, inbox, team, user), row in raw_days(session, tenant_id, tz, since, until, label_id, False).items():
            if inbox:  # a label's rows carry no presence
                out.append({"tenant_id": tenant_id, "label_id": label_id, "day": day, "inbox_id": inbox,
                            "team_id": team, "attendant_id": user, **row.values})
    return out


_LOCK_NAMESPACE = 0x414E4C59  # "ANLY": keeps these advisory locks apart from anyone else's


def restate_conversation(conversation_id: int, now: dt.datetime | None = None) -> int:
    """Rebuild the stored days (before today) on which a conversation's figures fall, after it changed hands:
    its customers', people's and the bot's messages, its cycles' milestones and its measured responses. The
    job a handoff, assignment or transfer queues; idempotent.

    Args:
        conversation_id: The conversation.
        now: The moment that decides what "today" is (default: now).

    Returns:
        How many local days were rebuilt.
    """
    from crm_app.db import session_scope
    from crm_app.models import Conversation

    with session_scope() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None or not is_postgres(session):
            return 0
        tenant_id = conversation.tenant_id
        tz = tenant_timezone(session, tenant_id)
        today = (now or utcnow()).astimezone(ZoneInfo(tz)).date()
        params = {"c": conversation_id, "tz": tz, "start": day_bounds(tz, today, today)[0]}
        at = local_day(session, "x.at")
        query = (f"SELECT DISTINCT {at} FROM ("
                 "SELECT m.created_at AS at FROM messages m WHERE m.conversation_id = :c "
                 "UNION ALL SELECT v.at FROM conversation_facts f, LATERAL (VALUES (f.opened_at), (f.handoff_at), "
                 "(f.assigned_at), (f.first_human_at), (f.closed_at)) AS v(at) WHERE f.conversation_id = :c "
                 "UNION ALL SELECT r.at FROM conversation_responses r JOIN conversation_facts f ON f.id = r.fact_id "
                 "WHERE f.conversation_id = :c) AS x WHERE x.at < :start ORDER BY 1")
        days = [as_date(row[0]) for row in run(session, query, params).all()]
    runs: list[list[dt.date]] = []
    for day in days:
        if runs and day - runs[-1][-1] == dt.timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    with session_scope() as session:
        for run_ in runs:
            rebuild(session, tenant_id, run_[0], run_[-1])
    return len(days)


def memberships(session: Session, tenant_id: int) -> dict[int, list[int]]:
    """user id -> the ids of their teams."""
    found: dict[int, list[int]] = defaultdict(list)
    for user_id, team_id in session.exec(select(TeamMember.user_id, TeamMember.team_id)
                                         .where(TeamMember.tenant_id == tenant_id)).all():
        found[user_id].append(team_id)
    return found


def hourly_rows(rows: dict[Key, DayRow], teams_of: dict[int, list[int]]) -> dict[tuple, list]:
    """(day, hour, inbox, team) -> [customer messages, seconds online, 0 (unused), the ids of the conversations
    the customers wrote in]: presence rows (inbox 0) count for each of the attendant's teams and for the whole
    tenant (team 0)."""
    out: dict[tuple, list] = defaultdict(lambda: [0, 0.0, 0, set()])
    for (day, inbox, team, user), row in rows.items():
        for hour in range(24):
            if inbox and row.hourly_in[hour]:
                out[(day, hour, inbox, team)][0] += row.hourly_in[hour]
                out[(day, hour, inbox, team)][3].update(row.hourly_ids.get(hour, ()))
            if not inbox and row.hourly_online[hour]:
                for target in (0, *teams_of.get(user, ())):
                    out[(day, hour, 0, target)][1] += row.hourly_online[hour]
    return out


def refresh_recent(now: dt.datetime | None = None) -> int:
    """Rebuild yesterday and today for every tenant, one transaction per tenant (the periodic job; idempotent).

    Returns:
        How many rollup rows were stored.
    """
    from crm_app.db import session_scope

    now = now or utcnow()
    with session_scope() as session:
        if session.get_bind().dialect.name != "postgresql":
            return 0  # nothing to roll up on SQLite (see `require_postgres`)
        tenants = list(session.exec(select(Tenant.id, Tenant.timezone)).all())
    stored = 0
    for tenant_id, tz in tenants:
        today = now.astimezone(ZoneInfo(tz or "America/Sao_Paulo")).date()
        with session_scope() as session:
            stored += rebuild(session, tenant_id, today - dt.timedelta(days=1), today)
    return stored
