"""Exports, the pure part: their columns, how a value becomes a cell, and the CSV dialect of each language.

One row per conversation cycle (a conversation's start or reopen until its close): the unit of the
per-conversation facts, in which resolution, containment and "unanswered after handoff" are defined. A cycle is
in an export when it opened or closed within the period; the per-day export is the chart's series itself.

CSV for Excel users in Brazil: UTF-8 with a BOM (so Excel reads accents), `;` between fields in pt-BR (Excel in
a Brazilian locale splits on it; `,` is its decimal mark) and `,` in English. Durations are whole seconds, so
no decimal mark is ever needed. The first row holds each column's definition, the second its name, then the data.

The SLA columns, per target: the state of the cycle's latest clock (active, hit, missed; empty without one), its
deadline, and how many of the cycle's clocks of that target were missed. A clock belongs to the cycle it started
in (from the cycle's opening until the next one opens; a clock before the first opening to the first cycle).
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from crm_app.domain.inbox import display_phone

KINDS = ("conversations", "daily")
FORMATS = ("csv", "xlsx")

# (key, type): "id" and "int" are integers, "text" is customer or user text, "phone" a phone shown as the inbox
# shows it ("+55 11 98123-4567"), "time" a moment shown in the
# tenant's timezone, "seconds" a duration in whole seconds, "flag" 1/0 (empty while the cycle is open).
CONVERSATION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("conversation_id", "id"), ("cycle", "int"), ("contact_id", "id"), ("contact_name", "text"),
    ("contact_phone", "phone"), ("number", "text"), ("team", "text"), ("assignee", "text"), ("labels", "text"),
    ("opened_at", "time"), ("handoff_at", "time"), ("handoff_reason", "text"), ("assigned_at", "time"),
    ("first_human_at", "time"), ("closed_at", "time"), ("closed_by", "text"), ("reopened", "flag"),
    ("bot_seconds", "seconds"), ("bot_business_seconds", "seconds"), ("queue_seconds", "seconds"),
    ("queue_business_seconds", "seconds"), ("frt_seconds", "seconds"), ("frt_business_seconds", "seconds"),
    ("resolution_seconds", "seconds"), ("resolution_business_seconds", "seconds"), ("csat_status", "text"),
    ("csat_rating", "int"), ("csat_rated_at", "time"), ("contained", "flag"), ("first_contact", "flag"),
    ("unanswered", "flag"), ("windows_missed", "int"), ("transfers", "int"), ("customer_messages", "int"),
    ("human_messages", "int"), ("bot_messages", "int"),
    *((f"sla_{target}_{part}", kind) for target in ("first_response", "next_response", "resolution")
      for part, kind in (("status", "text"), ("due_at", "time"), ("breaches", "int"))),
)
DAILY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("day", "text"), ("opened", "int"), ("closed", "int"), ("contained", "int"), ("unanswered", "int"),
    ("handoffs", "int"), ("windows_missed", "int"), ("messages_in", "int"), ("messages_out", "int"),
    ("bot_messages", "int"), ("failed_sends", "int"), ("frt_count", "int"), ("frt_sum", "seconds"),
    ("resolution_count", "int"), ("resolution_sum", "seconds"), ("first_contact", "int"), ("new_contacts", "int"),
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PHONE = re.compile(r"^\+[\d -]+$")  # digits, spaces and dashes: nothing a spreadsheet could run


def columns(kind: str) -> tuple[tuple[str, str], ...]:
    """The columns of an export kind."""
    return CONVERSATION_COLUMNS if kind == "conversations" else DAILY_COLUMNS


def delimiter(lang: str) -> str:
    """The CSV field separator Excel expects in that language's locale."""
    return ";" if lang == "pt-BR" else ","


def compute_local(moment: dt.datetime | None, tz: str) -> dt.datetime | None:
    """A stored UTC moment as the tenant's wall-clock time (naive: Excel has no time zones), to the second."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(ZoneInfo(tz)).replace(tzinfo=None, microsecond=0)


def compute_cell(value, kind: str, tz: str):
    """A value as the file holds it: int, str, naive local datetime, or None for an empty cell."""
    if value is None:
        return None
    if kind == "time":
        return compute_local(value, tz)
    if kind == "seconds":
        return int(round(float(value)))
    if kind == "flag":
        return 1 if value else 0
    if kind in ("id", "int"):
        return int(value)
    if kind == "phone":
        return display_phone(str(value))
    return str(value)


def compute_csv_text(cell) -> str:
    """A cell as CSV text; text that a spreadsheet would run as a formula (=, +, -, @) gets a leading quote."""
    if cell is None:
        return ""
    if isinstance(cell, dt.datetime):
        return cell.strftime("%Y-%m-%d %H:%M:%S")
    text = str(cell)
    if isinstance(cell, str) and text.startswith(_FORMULA_START) and not _PHONE.match(text):
        return "'" + text
    return text
