"""Pure presentation helpers for the inbox: service DTOs become flat string dicts for the page.

Components render every value with text components only, so customer text
can never become markup. The only link built from customer data is a map
link from numeric coordinates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm_app.domain.inbox import duration_words, sla_level
from crm_app.domain.sla import PRIORITIES
from crm_app.i18n import translate

WARN_WINDOW = dt.timedelta(hours=2)
DANGER_WINDOW = dt.timedelta(minutes=30)


def zone(timezone: str) -> dt.tzinfo:
    """The tenant's zone; UTC when unknown."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def short_time(moment: dt.datetime | None, now: dt.datetime, timezone: str, lang: str) -> str:
    """HH:MM today, "Ontem" yesterday, dd/mm this year, dd/mm/aa before."""
    if moment is None:
        return ""
    tz = zone(timezone)
    local, today = moment.astimezone(tz), now.astimezone(tz).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if local.date() == today - dt.timedelta(days=1):
        return translate(lang, "inbox.yesterday")
    return local.strftime("%d/%m" if local.year == today.year else "%d/%m/%y")


def day_label(moment: dt.datetime, now: dt.datetime, timezone: str, lang: str) -> str:
    """The day separator of a message: Hoje, Ontem or dd/mm/aaaa."""
    tz = zone(timezone)
    day, today = moment.astimezone(tz).date(), now.astimezone(tz).date()
    if day == today:
        return translate(lang, "inbox.today")
    if day == today - dt.timedelta(days=1):
        return translate(lang, "inbox.yesterday")
    return day.strftime("%d/%m/%Y")


def window_state(expires_at: dt.datetime | None, now: dt.datetime) -> tuple[str, str]:
    """`(level, remaining)`: level is ok / warn / danger / closed; remaining reads like 3h12."""
    if expires_at is None or expires_at <= now:
        return "closed", ""
    left = expires_at - now
    minutes = int(left.total_seconds() // 60)
    text = f"{minutes // 60}h{minutes % 60:02d}"
    if left < DANGER_WINDOW:
        return "danger", text
    if left < WARN_WINDOW:
        return "warn", text
    return "ok", text


def _epoch_ms(moment: dt.datetime | None) -> str:
    return str(int(moment.timestamp() * 1000)) if moment else ""


def sla_chip(due_at: dt.datetime | None, started_at: dt.datetime | None, now: dt.datetime, timezone: str,
             lang: str) -> dict[str, str]:
    """The SLA countdown chip as first drawn (assets/sla.js then ticks it every second in the browser):
    `sla_level` ok / risk / late ("" without a deadline), its words, the deadline and start in epoch ms, and the
    deadline's local time for the tooltip and screen readers."""
    level = sla_level(due_at, started_at, now)
    if not level:
        return {"sla_level": "", "sla_text": "", "sla_due": "", "sla_start": "", "sla_title": "",
                "sla_overdue": ""}
    overdue = translate(lang, "inbox.sla.overdue")
    words = duration_words((due_at - now).total_seconds())
    local = due_at.astimezone(zone(timezone))
    when = local.strftime("%H:%M") if local.date() == now.astimezone(zone(timezone)).date() else (
        local.strftime("%d/%m %H:%M"))
    title = translate(lang, "inbox.sla.missed" if level == "late" else "inbox.sla.deadline").format(time=when)
    return {"sla_level": level, "sla_text": overdue.format(x=words) if level == "late" else words,
            "sla_due": _epoch_ms(due_at), "sla_start": _epoch_ms(started_at), "sla_title": title,
            "sla_overdue": overdue}


def priority_name(level: int | None) -> str:
    """The priority's name (`domain.sla.PRIORITIES`); "none" for anything unknown."""
    return PRIORITIES[level] if isinstance(level, int) and 0 <= level < len(PRIORITIES) else "none"


def initials(name: str) -> str:
    """Up to two initials for an avatar."""
    parts = [p for p in (name or "").split() if p[:1].isalnum()]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def conversation_row(row: Any, now: dt.datetime, timezone: str, lang: str) -> dict[str, str]:
    """One list row as strings."""
    level, left = window_state(row.window_expires_at, now)
    return {
        "id": str(row.id), "name": row.contact_name or row.contact_phone, "phone": row.contact_phone or "",
        "initials": initials(row.contact_name or ""), "preview": (row.preview or "")[:140],
        "time": short_time(row.last_message_at, now, timezone, lang),
        "unread": str(row.unread_count) if row.unread_count else "",
        "status": str(row.status), "assignee": row.assignee_name or "",
        "assignee_initials": initials(row.assignee_name or "") if row.assignee_name else "",
        "team": row.team_name or "", "bot": "1" if row.bot_active else "",
        "window": level if row.status != "closed" else "", "window_left": left,
        "labels": ", ".join(row.labels or []), "priority": priority_name(row.priority),
        **sla_chip(row.sla_due_at, row.sla_started_at, now, timezone, lang),
    }


def map_url(location: dict | None) -> str:
    """An OpenStreetMap link from numeric coordinates only; "" when they are not plain numbers."""
    if not location:
        return ""
    try:
        lat, lon = float(location.get("latitude")), float(location.get("longitude"))
    except (TypeError, ValueError):
        return ""
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return ""
    return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=17/{lat:.6f}/{lon:.6f}"


def media_url(url: str | None) -> str:
    """Only our own media route may be used as a source."""
    return url if url and url.startswith("/api/media/") else ""


def _side(sender_type: str) -> str:
    if sender_type == "customer":
        return "left"
    if sender_type == "system":
        return "center"
    return "right"


def _tick(status: str, direction: str, sender_type: str) -> str:
    if direction != "outbound" or sender_type in ("note", "system"):
        return ""
    return {"queued": "pending", "sending": "pending"}.get(status, status)


def _contacts_text(contacts: list[dict] | None) -> str:
    lines = []
    for card in contacts or []:
        name = card.get("name") or ""
        if isinstance(name, dict):
            name = name.get("formatted_name") or ""
        phones = card.get("phones") or []
        phone = phones[0].get("phone", "") if phones and isinstance(phones[0], dict) else card.get("phone", "")
        lines.append(" · ".join(str(x) for x in (name, phone) if x))
    return "\n".join(lines)


def _location_label(location: dict | None) -> str:
    if not location:
        return ""
    return " · ".join(str(location.get(k)) for k in ("name", "address") if location.get(k))


def _history(m: Any, lang: str) -> str:
    """The hover text of an edited bubble (its earlier texts) or a deleted one (its text kept for audit)."""
    if m.deleted:
        return f"{translate(lang, 'inbox.deleted.kept')}:\n{m.body}" if m.body else ""
    if m.edited and m.earlier_texts:
        return f"{translate(lang, 'inbox.edited.earlier')}:\n" + "\n".join(m.earlier_texts)
    return ""


def message_item(m: Any, timezone: str, lang: str) -> dict[str, str]:
    """One bubble as strings (day separators are added by `with_separators`).

    A deleted message shows none of its content, only "mensagem apagada" (its kept text on hover).
    """
    if m.deleted:
        return {**message_item(_without_content(m), timezone, lang), "deleted": "1", "history": _history(m, lang)}
    reply = m.reply_to or {}
    return {
        "id": str(m.id), "side": _side(m.sender_type), "sender_type": m.sender_type,
        "sender_name": m.sender_name or "", "kind": str(m.kind), "body": m.body or "",
        "time": m.created_at.astimezone(zone(timezone)).strftime("%H:%M") if m.created_at else "",
        "tick": _tick(str(m.status), str(m.direction), m.sender_type),
        "error": m.error_reason or (str(m.error_code) if m.error_code else ""),
        "media_url": media_url(m.media_url), "mime": m.media_mime or "", "file_name": m.file_name or "",
        "map_url": map_url(m.location), "location": _location_label(m.location),
        "contacts": _contacts_text(m.contacts),
        "reply_body": (reply.get("body") or "")[:200] if reply else "",
        "reply_sender": translate(lang, f"inbox.sender.{reply.get('sender_type')}") if reply else "",
        "reactions": " ".join(m.reactions or []), "client_key": m.client_key or "",
        "day": m.created_at.isoformat() if m.created_at else "", "separator": "", "divider": "",
        "edited": "1" if m.edited else "", "deleted": "", "history": _history(m, lang),
    }


def _without_content(m: Any) -> Any:
    """The same message with nothing of what the customer deleted: no text, media, place or cards."""
    return dataclasses.replace(m, body=None, media_url=None, file_name=None, location=None, contacts=[],
                               reply_to=None, edited=False, deleted=False)


def with_separators(items: list[dict[str, str]], now: dt.datetime, timezone: str, lang: str,
                    last_read_id: int = 0) -> list[dict[str, str]]:
    """Mark where a new day starts and where unread customer messages begin."""
    out, previous_day, divided = [], None, False
    for item in items:
        item = dict(item)
        moment = dt.datetime.fromisoformat(item["day"]) if item["day"] else None
        label = day_label(moment, now, timezone, lang) if moment else ""
        item["separator"] = label if label != previous_day else ""
        previous_day = label
        if (last_read_id and not divided and item["sender_type"] == "customer" and item["id"].isdigit()
                and int(item["id"]) > last_read_id):
            item["divider"], divided = "1", True
        out.append(item)
    return out


def pending_item(body: str, client_key: str, note: bool, name: str, now: dt.datetime, timezone: str,
                 reply_body: str = "") -> dict[str, str]:
    """The optimistic bubble shown until the stored message arrives."""
    return {
        "id": f"pending-{client_key}", "side": "right", "sender_type": "note" if note else "attendant",
        "sender_name": name, "kind": "text", "body": body, "time": now.astimezone(zone(timezone)).strftime("%H:%M"),
        "tick": "" if note else "pending", "error": "", "media_url": "", "mime": "", "file_name": "",
        "map_url": "", "location": "", "contacts": "", "reply_body": reply_body, "reply_sender": "",
        "reactions": "", "client_key": client_key, "day": now.isoformat(), "separator": "", "divider": "",
        "edited": "", "deleted": "", "history": "",
    }


def merge_messages(loaded: list[dict[str, str]], newest: list[dict[str, str]]) -> list[dict[str, str]]:
    """Older pages already on screen plus the freshly queried newest page; pending bubbles stay until stored."""
    fresh_ids = {m["id"] for m in newest}
    fresh_keys = {m["client_key"] for m in newest if m["client_key"]}
    oldest_fresh = min((int(m["id"]) for m in newest if m["id"].isdigit()), default=None)
    kept = [m for m in loaded if m["id"].isdigit() and m["id"] not in fresh_ids
            and oldest_fresh is not None and int(m["id"]) < oldest_fresh]
    pending = [m for m in loaded if m["id"].startswith("pending-") and m["client_key"] not in fresh_keys]
    return kept + newest + pending


def parse_attributes(text: str) -> dict[str, str]:
    """`chave: valor` lines into a dict; blank lines and lines without a colon are ignored."""
    out = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            out[key.strip()[:64]] = value.strip()[:500]
    return out


def attributes_text(attributes: dict[str, str] | None) -> str:
    """The reverse of `parse_attributes`."""
    return "\n".join(f"{k}: {v}" for k, v in (attributes or {}).items())


def template_params(body: str) -> list[str]:
    """The variable names of a template body in order of first use: ["1", "2"] or ["nome", …]."""
    names: list[str] = []
    for name in re.findall(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}", body or ""):
        if name not in names:
            names.append(name)
    return names


def template_body_params(names: list[str], values: list[str]) -> list[str] | dict[str, str]:
    """Positional variables go as a list, named ones as a dict (what the Graph body builder takes)."""
    if all(n.isdigit() for n in names):
        return [values[i] if i < len(values) else "" for i in range(len(names))]
    return {n: (values[i] if i < len(values) else "") for i, n in enumerate(names)}


def template_preview(body: str, names: list[str], values: list[str]) -> str:
    """The template body with its variables replaced by the typed values (blank ones stay visible)."""
    out = body or ""
    for i, name in enumerate(names):
        value = values[i] if i < len(values) else ""
        if value:
            out = re.sub(r"\{\{\s*" + re.escape(name) + r"\s*\}\}", lambda _m, v=value: v, out)
    return out


def fresh_events(last_seq: int, events: list[dict], reset_window: int) -> tuple[int, list[dict], bool]:
    """Which events a tab still has to apply: (its new last seq, those events, whether to reload everything).

    Durable events carry the tenant's seq: one at or below ours is already shown (the last full load
    read the counter first), one that skips a number means we missed some, and one far below ours means
    the counter started again (Redis lost it), which also calls for a full reload. Ephemeral events
    (seq None) always apply.
    """
    fresh, gap = [], False
    for event in events:
        seq = event.get("seq")
        if isinstance(seq, int):
            if seq <= last_seq and last_seq - seq < reset_window:
                continue
            gap = gap or bool(last_seq and seq != last_seq + 1)
            last_seq = seq
        fresh.append(event)
    return last_seq, fresh, gap
