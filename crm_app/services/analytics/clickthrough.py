"""From a chart to its conversations: the ids behind a bar or cell, kept for the inbox under a short token.

The ids come from the same facts and filters as the figure, so the inbox shows exactly those conversations.
A selection belongs to the user who made it, lives one hour, and holds at most `MAX_IDS` ids.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import urllib.parse

from sqlmodel import Session

from crm_app.domain import analytics as rules
from crm_app.domain.inbox import Period, compute_local_ranges
from crm_app.errors import NotFound, ValidationError
from crm_app.queue import get_redis
from crm_app.services.analytics import criteria, rollups
from crm_app.services.core.actors import Actor

MAX_IDS = 5000
TTL = 3600
METRICS = ("opened", "closed", "frt", "inbound")


def conversation_ids(session: Session, *, actor: Actor, filters: criteria.Filters, metric: str,
                     day: str | None = None, weekday: int | None = None, hour: int | None = None,
                     bucket: str | None = None) -> list[int]:
    """The distinct conversations behind one bar or cell, within the actor's scope.

    Args:
        session: The caller's session.
        actor: Any reader.
        filters: The page's filters.
        metric: "opened" or "closed" (a day's bar), "frt" (a bucket) or "inbound" (a weekday × hour cell).
        day: The local day (ISO) of a volume bar.
        weekday: 0 = Monday, for a heatmap cell.
        hour: The local hour of a heatmap cell.
        bucket: The FRT bucket's name.

    Returns:
        Conversation ids, ascending.
    """
    if metric not in METRICS:
        raise ValidationError("unknown metric", field="metric")
    scope = criteria.scope_for(session, actor)
    criteria.check_filters(session, actor, filters)
    tz = rollups.tenant_timezone(session, actor.tenant_id)
    if day is not None:
        try:
            chosen = dt.date.fromisoformat(day)
        except ValueError as exc:
            raise ValidationError("day must be YYYY-MM-DD", field="day") from exc
        filters = criteria.Filters(chosen, chosen, filters.team_id, filters.inbox_id, filters.label_id,
                                  filters.attendant_id)
    params = criteria.fact_params(actor.tenant_id, tz, filters, scope)
    query = _query(session, metric, filters, scope, params, weekday, hour, bucket)
    return [int(r[0]) for r in rollups.run(session, query + f" ORDER BY 1 LIMIT {MAX_IDS}", params).all()]


def _query(session: Session, metric: str, filters: criteria.Filters, scope: criteria.Scope, params: dict,
           weekday: int | None, hour: int | None, bucket: str | None) -> str:
    if metric in ("opened", "closed"):
        at = f"f.{metric}_at"
        return (f"SELECT DISTINCT f.conversation_id FROM conversation_facts f WHERE f.tenant_id = :tenant_id "
                f"AND {at} >= :start AND {at} < :end" + rollups.last_of_day(session, at)
                + criteria.fact_conditions(filters, scope, "f.assignee_id"))
    if metric == "frt":
        found = [b for b in rules.FRT_BUCKETS if b[0] == bucket]
        if not found:
            raise ValidationError("unknown bucket", field="bucket")
        _, low, high = found[0]
        params.update(low=low, high=high if high is not None else 10**12)
        return ("SELECT DISTINCT f.conversation_id FROM conversation_facts f WHERE f.tenant_id = :tenant_id "
                "AND f.first_human_at >= :start AND f.first_human_at < :end AND f.frt_seconds >= :low "
                "AND f.frt_seconds < :high" + criteria.fact_conditions(filters, scope, "f.first_human_user_id"))
    if weekday is None or hour is None or not (0 <= weekday <= 6 and 0 <= hour <= 23):
        raise ValidationError("a cell needs a weekday (0–6) and an hour (0–23)", field="hour")
    if params["attendant_id"] is not None:
        # Demand belongs to numbers and teams: with an attendant (filter or own view) every cell shows 0, so its
        # click opens nothing.
        return "SELECT m.conversation_id FROM messages m WHERE 1 = 0"
    # The cell's local hours as UTC stretches (any dialect; the same cut as the inbox's hour filter).
    ranges = compute_local_ranges(Period(filters.since, filters.until, "inbound", weekday, hour), params["tz"])
    params.update({f"s{i}": a for i, (a, _) in enumerate(ranges)} | {f"e{i}": b for i, (_, b) in enumerate(ranges)})
    within = " OR ".join(f"(m.created_at >= :s{i} AND m.created_at < :e{i})" for i in range(len(ranges))) or "false"
    conditions = criteria.fact_conditions(filters, scope, "f.assignee_id").replace("f.conversation_id",
                                                                                  "m.conversation_id")
    return ("SELECT DISTINCT m.conversation_id FROM messages m JOIN conversations f ON f.id = m.conversation_id "
            f"WHERE m.tenant_id = :tenant_id AND m.sender_type = 'customer' AND ({within})" + conditions)


def save_selection(session: Session, *, actor: Actor, filters: criteria.Filters, metric: str, **where) -> str:
    """Compute the ids behind a figure and keep them for the inbox; returns the selection's token."""
    ids = conversation_ids(session, actor=actor, filters=filters, metric=metric, **where)
    token = secrets.token_urlsafe(12)
    get_redis().set(f"crm:analytics:selection:{token}",
                    json.dumps({"tenant_id": actor.tenant_id, "user_id": actor.user_id, "ids": ids}), ex=TTL)
    return token


_EVENTS = {"opened": "opened", "closed": "closed", "frt": "first_response", "inbound": "inbound"}


def inbox_link(session: Session, *, actor: Actor, filters: criteria.Filters, metric: str, day: str | None = None,
               weekday: int | None = None, hour: int | None = None, bucket: str | None = None) -> str:
    """The inbox URL of one bar or cell: its period filter (local days, weekday, hour, in the tenant's timezone)
    and the id list behind the figure, which also carries the page's team, number, label and attendant filters.

    Args:
        session: The caller's session.
        actor: Any reader.
        filters: The page's filters.
        metric: As in `conversation_ids`.
        day: The local day of a volume bar.
        weekday: A heatmap cell's weekday (0 = Monday).
        hour: A heatmap cell's local hour.
        bucket: An FRT bucket's name.

    Returns:
        "/inbox?…", with the ids kept under a token for an hour.
    """
    token = save_selection(session, actor=actor, filters=filters, metric=metric, day=day, weekday=weekday,
                           hour=hour, bucket=bucket)
    since = until = (day or "")[:10]
    if not since:
        since, until = filters.since.isoformat(), filters.until.isoformat()
    query = {"on": _EVENTS[metric], "since": since, "until": until}
    query.update({k: str(v) for k, v in (("weekday", weekday), ("hour", hour)) if v is not None})
    return "/inbox?" + urllib.parse.urlencode({**query, "selection": token})


def load_selection(*, actor: Actor, token: str) -> list[int]:
    """The ids of a selection the actor made; NotFound for a missing, expired or someone else's token."""
    raw = get_redis().get(f"crm:analytics:selection:{token[:40]}") if token else None
    data = json.loads(raw) if raw else None
    if not data or data.get("tenant_id") != actor.tenant_id or data.get("user_id") != actor.user_id:
        raise NotFound("this selection has expired; click the chart again")
    return [int(i) for i in data["ids"]]
