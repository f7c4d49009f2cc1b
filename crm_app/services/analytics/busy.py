"""Busy share: of an attendant's online time, the part with at least one assigned conversation cycle open.

Whole-person figures (the number, team and label filters do not narrow them), shown in the attendant table and
the metrics API. PostgreSQL intersects the two unions as multiranges in one query; SQLite sums the same
intervals in Python (`rules.compute_busy_seconds`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlmodel import Session, func, select

from crm_app.db import utcnow
from crm_app.domain import analytics as rules
from crm_app.models import ConversationFact, PresenceInterval
from crm_app.services.analytics import rollups

# Per attendant: the union of online stretches, and of it the part covered by the union of open assigned cycles.
_BUSY_SQL = """
WITH online AS (
  SELECT user_id AS u, range_agg(tstzrange(greatest(started_at, :start),
                                           least(coalesce(ended_at, last_seen_at), :end))) AS r
  FROM presence_intervals WHERE tenant_id = :t AND status = 'online' AND user_id IN ({users})
    AND started_at < :end AND coalesce(ended_at, last_seen_at) > :start
    AND greatest(started_at, :start) < least(coalesce(ended_at, last_seen_at), :end)
  GROUP BY 1),
busy AS (
  SELECT assignee_id AS u, range_agg(tstzrange(greatest(assigned_at, :start),
                                               least(coalesce(closed_at, :stop), :end))) AS r
  FROM conversation_facts WHERE tenant_id = :t AND assignee_id IN ({users}) AND assigned_at < :end
    AND (closed_at IS NULL OR closed_at > :start)
    AND greatest(assigned_at, :start) < least(coalesce(closed_at, :stop), :end)
  GROUP BY 1)
SELECT o.u,
  (SELECT sum(extract(epoch FROM upper(x) - lower(x))) FROM unnest(o.r) x),
  (SELECT sum(extract(epoch FROM upper(x) - lower(x))) FROM unnest(o.r * coalesce(b.r, '{{}}'::tstzmultirange)) x)
FROM online o LEFT JOIN busy b ON b.u = o.u
"""


def busy_shares(session: Session, tenant_id: int, user_ids: list[int], start: dt.datetime, end: dt.datetime,
                now: dt.datetime | None = None) -> dict[int, float | None]:
    """Each attendant's busy share over [start, end): online time with at least one assigned cycle open, over
    online time (None with no online time). Whole-person figures: the number, team and label filters do not
    narrow them. PostgreSQL intersects multiranges; elsewhere the same sums come from the rows in Python.

    Args:
        session: The caller's session.
        tenant_id: The tenant.
        user_ids: The attendants.
        start: The period's first moment (UTC).
        end: The moment after the period (UTC).
        now: Where open cycles stop (default: now). Presence counts as the online hours count it.

    Returns:
        user id -> share between 0 and 1, or None.
    """
    stop = min(end, now or utcnow())
    if not user_ids:
        return {}
    if rollups.is_postgres(session):
        found = {u: (total, both) for u, total, both in rollups.run(session, _BUSY_SQL.format(
            users=", ".join(str(int(u)) for u in user_ids)),
            {"t": tenant_id, "start": start, "end": end, "stop": stop}).all()}
        return {u: round(float(found[u][1] or 0) / float(found[u][0]), 4) if found.get(u, (0,))[0] else None
                for u in user_ids}
    online: dict[int, list] = defaultdict(list)
    p = PresenceInterval
    for user_id, began, ended, seen in session.exec(select(p.user_id, p.started_at, p.ended_at, p.last_seen_at).where(
            p.tenant_id == tenant_id, p.status == "online", p.user_id.in_(user_ids), p.started_at < end,
            func.coalesce(p.ended_at, p.last_seen_at) > start)).all():
        online[user_id].append((max(began, start), min(ended or seen, end)))
    busy: dict[int, list] = defaultdict(list)
    f = ConversationFact
    for user_id, assigned, closed in session.exec(select(f.assignee_id, f.assigned_at, f.closed_at).where(
            f.tenant_id == tenant_id, f.assignee_id.in_(user_ids), f.assigned_at.is_not(None), f.assigned_at < end,
            (f.closed_at.is_(None)) | (f.closed_at > start))).all():
        busy[user_id].append((max(assigned, start), min(closed or stop, end)))
    out: dict[int, float | None] = {}
    for user_id in user_ids:
        total, both = rules.compute_busy_seconds(online.get(user_id, []), busy.get(user_id, []))
        out[user_id] = round(both / total, 4) if total else None
    return out
