"""The export job (`bulk`): stream the rows from a server-side cursor, in batches, into a file in the storage.

Nothing holds the whole range: PostgreSQL hands the rows over `BATCH` at a time (a named cursor), the CSV is
written as it comes, and xlsxwriter runs in constant-memory mode (each row is flushed when the next starts).
The file appears under its key only when it is complete (`storage.writer`).

Each run claims the export (queued → running, `attempts` + 1) and writes its progress after every batch, only
while it is still the export's current attempt: a run that was given up for dead and replaced stops at its next
batch. A killed run leaves the export "running" with an `updated_at` that no longer moves; `sweep` (periodic,
`default`) runs it again from the start, and after `MAX_ATTEMPTS` marks it failed with the reason. The same
sweep deletes the files of expired exports.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import logging
from collections.abc import Callable, Iterator

from sqlalchemy import text as sql
from sqlalchemy import update
from sqlmodel import Session, select

from crm_app.db import get_engine, session_scope, utcnow
from crm_app.domain import exports as rules
from crm_app.errors import CRMError
from crm_app.i18n import translate
from crm_app.models import Export, ExportStatus, User
from crm_app.services.access.sessions import actor_for
from crm_app.services.analytics import criteria, figures, rollups
from crm_app.services.core import jobs
from crm_app.services.core.actors import Actor
from crm_app.services.exports.requests import EXPORTERS, JOB, KEEP_HOURS, filters_of

log = logging.getLogger(__name__)

BATCH = 2000
MAX_ATTEMPTS = 3
# Progress is written after every batch (a few seconds at most): a running export untouched this long has no
# live job (its worker was killed, or the job was lost with Redis).
STALLED_AFTER = dt.timedelta(minutes=5)
QUEUED_LOST_AFTER = dt.timedelta(minutes=10)

_LABELS = ("(SELECT string_agg(l.name, ', ' ORDER BY l.name) FROM conversation_labels cl JOIN labels l "
           "ON l.id = cl.label_id WHERE cl.conversation_id = f.conversation_id)")
# The SLA clocks of one target that belong to the cycle `f`: those started from its opening (any time, for the
# first cycle) until the next cycle opens. Each subquery reads the clocks of one conversation and target on the
# index of uq_sla_clocks_conversation_target_start.
_CYCLE_CLOCKS = ("FROM sla_clocks k WHERE k.conversation_id = f.conversation_id AND k.target = '{target}' "
                 "AND (f.cycle = 0 OR k.started_at >= f.opened_at) AND NOT EXISTS (SELECT 1 FROM conversation_facts "
                 "n WHERE n.conversation_id = f.conversation_id AND n.cycle > f.cycle AND n.opened_at <= k.started_at)")


def _sla_columns() -> str:
    """Per target: the latest clock's status and deadline, and the number of missed clocks (breaches)."""
    parts = []
    for target in ("first_response", "next_response", "resolution"):
        clocks = _CYCLE_CLOCKS.format(target=target)
        latest = " ORDER BY k.started_at DESC, k.id DESC LIMIT 1)"
        parts += [f"(SELECT k.status {clocks}{latest}", f"(SELECT k.due_at {clocks}{latest}",
                  f"(SELECT count(*) {clocks} AND k.status = 'missed')"]
    return ", ".join(parts)


_SELECT = (
    "SELECT f.conversation_id, f.cycle, c.contact_id, ct.name, ct.phone_e164, i.name, t.name, u.name, "
    f"{_LABELS}, f.opened_at, f.handoff_at, f.handoff_reason, f.assigned_at, f.first_human_at, f.closed_at, "
    "f.closed_by, f.reopened, f.bot_seconds, f.bot_business_seconds, f.queue_seconds, f.queue_business_seconds, "
    "f.frt_seconds, f.frt_business_seconds, f.resolution_seconds, f.resolution_business_seconds, "
    "s.status, s.rating, s.rated_at, f.contained, f.first_contact, "
    "f.unanswered, f.windows_missed, f.transfers, f.customer_messages, f.human_messages, f.bot_messages, "
    + _sla_columns())
_FROM = (" FROM conversation_facts f JOIN conversations c ON c.id = f.conversation_id "
         "JOIN contacts ct ON ct.id = c.contact_id JOIN inboxes i ON i.id = f.inbox_id "
         "LEFT JOIN teams t ON t.id = f.team_id LEFT JOIN users u ON u.id = f.assignee_id "
         # at most one survey per cycle (uq_csat_surveys_conversation_cycle): the join never repeats a row
         "LEFT JOIN csat_surveys s ON s.conversation_id = f.conversation_id AND s.cycle = f.cycle")
# A cycle belongs to the period when it opened or closed in it (filter `closed_at` to read the closed figures).
_IN_PERIOD = (" WHERE f.tenant_id = :tenant_id AND ((f.opened_at >= :start AND f.opened_at < :end) "
              "OR (f.closed_at >= :start AND f.closed_at < :end))")


class Superseded(Exception):
    """This run is no longer the export's current attempt (the sweep gave it up for dead and started another)."""


def conversation_query(filters: criteria.Filters, scope: criteria.Scope, postgres: bool = True) -> tuple[str, str]:
    """(rows, count) SQL of the conversation export, on the facts alias `f`, with `criteria.fact_params`; the
    laptop's SQLite joins the labels with `group_concat` (unordered) instead of `string_agg`."""
    where = _IN_PERIOD + criteria.fact_conditions(filters, scope, "f.assignee_id")
    select = _SELECT if postgres else _SELECT.replace("string_agg(l.name, ', ' ORDER BY l.name)",
                                                      "group_concat(l.name, ', ')")
    return (select + _FROM + where + " ORDER BY f.opened_at, f.id",
            "SELECT count(*) FROM conversation_facts f" + where)


def stream_rows(query: str, params: dict, batch: int = BATCH) -> Iterator[list[tuple]]:
    """The query's rows, `batch` at a time, from a server-side cursor on a connection of its own.

    `stream_results` with an explicit `max_row_buffer` and partition size: `yield_per` alone on a Core connection
    still let the whole result pile up in this process (measured: +120 MB for a year's 50,000 rows, flat now).
    """
    with get_engine().connect() as conn:
        result = conn.execution_options(stream_results=True, max_row_buffer=batch).execute(sql(query), params)
        for part in result.partitions(batch):
            yield [tuple(r) for r in part]


def _claim(export_id: int) -> tuple[Export, Actor] | None:
    """queued → running for this run; None when there is nothing to do (done, failed, running elsewhere)."""
    with session_scope() as session:
        export = session.exec(select(Export).where(Export.id == export_id).with_for_update()).first()
        if export is None or export.status != ExportStatus.QUEUED:
            return None
        user = session.get(User, export.requested_by_id) if export.requested_by_id else None
        now = utcnow()
        export.attempts, export.status, export.rows_done = export.attempts + 1, ExportStatus.RUNNING, 0
        export.started_at, export.updated_at, export.error = now, now, None
        if user is None or not user.is_active or user.tenant_id != export.tenant_id or user.role not in EXPORTERS:
            export.status, export.error = ExportStatus.FAILED, "the person who asked for it may no longer export"
            return None
        session.add(export)
        tz = rollups.tenant_timezone(session, export.tenant_id)
        session.expunge(export)
        return export, actor_for(user, timezone=tz)


def _progress(export_id: int, attempt: int, **values) -> None:
    """Store progress for the current attempt only; Superseded when another attempt took over."""
    with session_scope() as session:
        done = session.execute(update(Export).where(
            Export.id == export_id, Export.attempts == attempt, Export.status == ExportStatus.RUNNING,
        ).values(updated_at=utcnow(), **values))
        if done.rowcount != 1:
            raise Superseded(f"export {export_id} attempt {attempt}")


def run_export(export_id: int) -> str:
    """Job: write an export's file (idempotent: only a queued export is run; a rerun starts from the top)."""
    claimed = _claim(export_id)
    if claimed is None:
        return "skipped"
    export, actor = claimed
    key = f"exports/{export.tenant_id}/{export.id}/a{export.attempts}.{export.format}"
    try:
        size = write_file(export, actor, key, lambda **v: _progress(export_id, export.attempts, **v))
        now = utcnow()
        _progress(export_id, export.attempts, status=ExportStatus.DONE, file_key=key, size=size, done_at=now,
                  expires_at=now + dt.timedelta(hours=KEEP_HOURS))
    except Superseded:
        return "superseded"
    except CRMError as exc:
        _fail(export_id, export.attempts, exc.message)
        return "failed"
    except Exception:
        log.exception("export %s failed", export_id)
        _fail(export_id, export.attempts, "the export job failed unexpectedly; ask for it again")
        return "failed"
    return "done"


def _fail(export_id: int, attempt: int, reason: str) -> None:
    with contextlib.suppress(Superseded):
        _progress(export_id, attempt, status=ExportStatus.FAILED, error=reason[:500])


def write_file(export: Export, actor: Actor, key: str, progress: Callable[..., None]) -> int:
    """Write the export's file under `key` in the storage; returns its size in bytes.

    Args:
        export: The claimed export (detached).
        actor: The person who asked for it, as they are now: the rows follow their scope.
        key: The storage key.
        progress: Called with `rows_total=` once, then with `rows_done=` after every batch.
    """
    from crm_app.integrations.storage import get_storage

    filters = filters_of(export.filters)
    with session_scope() as session:
        scope = criteria.scope_for(session, actor)
        criteria.check_filters(session, actor, filters)
        tz = rollups.tenant_timezone(session, actor.tenant_id)
        if export.kind == "daily":
            batches = [[tuple(day[name] for name, _ in rules.DAILY_COLUMNS) for day in figures.report(
                session, actor=actor, filters=filters, demand=False, durations=()).days]]
            total = len(batches[0])
        else:
            query, count = conversation_query(filters, scope, rollups.is_postgres(session))
            params = criteria.fact_params(actor.tenant_id, tz, filters, scope)
            total = int(rollups.run(session, count, params).scalar_one())
    progress(rows_total=total)
    if export.kind != "daily":
        batches = stream_rows(query, params)
    storage = get_storage()
    with storage.writer(key) as fh:
        writer = (XlsxFile if export.format == "xlsx" else CsvFile)(fh, export, tz)
        done = 0
        for batch in batches:
            writer.rows(batch)
            done += len(batch)
            progress(rows_done=done)
        writer.close()
    return storage.size(key)


def header(kind: str, lang: str, tz: str) -> tuple[list[str], list[str]]:
    """(definitions, names) of the export's columns in `lang`; time columns say the timezone."""
    prefix = "exports.daily" if kind == "daily" else "exports"
    names = [translate(lang, f"{prefix}.col.{name}") for name, _ in rules.columns(kind)]
    definitions = [translate(lang, f"{prefix}.def.{name}").replace("{tz}", tz) for name, _ in rules.columns(kind)]
    return definitions, names


class CsvFile:
    """CSV for spreadsheets: BOM, the language's separator, definitions then names, then the rows."""

    def __init__(self, fh, export: Export, tz: str) -> None:
        self.text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
        self.csv = csv.writer(self.text, delimiter=rules.delimiter(export.lang))
        self.kinds, self.tz = [k for _, k in rules.columns(export.kind)], tz
        for line in header(export.kind, export.lang, tz):
            self.csv.writerow(line)

    def rows(self, batch: list[tuple]) -> None:
        """Write one batch of database rows."""
        self.csv.writerows([rules.compute_csv_text(rules.compute_cell(v, k, self.tz))
                            for v, k in zip(row, self.kinds, strict=True)] for row in batch)

    def close(self) -> None:
        """Flush, and leave the binary file to its owner."""
        self.text.flush()
        self.text.detach()


class XlsxFile:
    """XLSX in constant-memory mode: the definitions row, the bold names (frozen, with a filter), the rows."""

    def __init__(self, fh, export: Export, tz: str) -> None:
        import xlsxwriter

        self.book = xlsxwriter.Workbook(fh, {"constant_memory": True, "strings_to_formulas": False,
                                             "strings_to_urls": False})
        self.sheet = self.book.add_worksheet(translate(export.lang, f"exports.sheet.{export.kind}")[:31])
        self.kinds, self.tz, self.next = [k for _, k in rules.columns(export.kind)], tz, 2
        self.when = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        definitions, names = header(export.kind, export.lang, tz)
        small = self.book.add_format({"italic": True, "font_size": 8, "text_wrap": True, "valign": "top"})
        bold = self.book.add_format({"bold": True})
        self.sheet.set_row(0, 60)
        self.sheet.write_row(0, 0, definitions, small)
        self.sheet.write_row(1, 0, names, bold)
        self.sheet.freeze_panes(2, 0)
        self.sheet.set_column(0, len(names) - 1, 16)
        self.width = len(names)

    def rows(self, batch: list[tuple]) -> None:
        """Write one batch of database rows (each flushed to disk when the next starts)."""
        for row in batch:
            for col, (value, kind) in enumerate(zip(row, self.kinds, strict=True)):
                cell = rules.compute_cell(value, kind, self.tz)
                if cell is None:
                    continue
                if isinstance(cell, dt.datetime):
                    self.sheet.write_datetime(self.next, col, cell, self.when)
                elif isinstance(cell, str):
                    self.sheet.write_string(self.next, col, cell)
                else:
                    self.sheet.write_number(self.next, col, cell)
            self.next += 1

    def close(self) -> None:
        """Add the filter over the names and data, and finish the workbook into the file."""
        self.sheet.autofilter(1, 0, max(1, self.next - 1), self.width - 1)
        self.book.close()


def sweep(now: dt.datetime | None = None) -> int:
    """Job (periodic, `default`): run again the exports whose job died, and delete expired files.

    A running export untouched for `STALLED_AFTER`, or a queued one whose job was lost for `QUEUED_LOST_AFTER`,
    is queued again from the start (its attempt is counted); after `MAX_ATTEMPTS` it fails with the reason.
    Running it twice queues nothing twice: each decision is taken under the row's lock and moves `updated_at`.

    Returns:
        How many exports it changed (queued again, failed or expired).
    """
    now = now or utcnow()
    with session_scope() as session:
        stalled = session.exec(select(Export.id).where(
            ((Export.status == ExportStatus.RUNNING) & (Export.updated_at < now - STALLED_AFTER))
            | ((Export.status == ExportStatus.QUEUED) & (Export.updated_at < now - QUEUED_LOST_AFTER)))).all()
        expired = session.exec(select(Export.id).where(Export.status == ExportStatus.DONE,
                                                       Export.expires_at <= now)).all()
    changed = sum(_revive(export_id, now) for export_id in stalled)
    return changed + sum(_expire(export_id, now) for export_id in expired)


def _locked(session: Session, export_id: int) -> Export | None:
    return session.exec(select(Export).where(Export.id == export_id).with_for_update(skip_locked=True)).first()


def _revive(export_id: int, now: dt.datetime) -> bool:
    with session_scope() as session:
        export = _locked(session, export_id)
        if export is None or export.status not in (ExportStatus.RUNNING, ExportStatus.QUEUED):
            return False
        limit = STALLED_AFTER if export.status == ExportStatus.RUNNING else QUEUED_LOST_AFTER
        if export.updated_at >= now - limit:
            return False  # it moved since the list was read
        if export.attempts >= MAX_ATTEMPTS:
            export.status = ExportStatus.FAILED
            export.error = (f"the export job stopped {export.attempts} times without finishing "
                            f"({export.rows_done} of {export.rows_total} rows); ask for it again")
        else:
            # The next run's claim counts its attempt; a stale run that wakes up finds the export no longer
            # running under its attempt and stops (Superseded).
            export.status, export.rows_done = ExportStatus.QUEUED, 0
            jobs.enqueue_after_commit(session, JOB, export_id, tag=f"retry-{export.attempts}-{int(now.timestamp())}")
        export.updated_at = now
        session.add(export)
    return True


def _expire(export_id: int, now: dt.datetime) -> bool:
    from crm_app.integrations.storage import get_storage

    with session_scope() as session:
        export = _locked(session, export_id)
        if export is None or export.status != ExportStatus.DONE or export.expires_at > now:
            return False
        get_storage().delete_prefix(f"exports/{export.tenant_id}/{export.id}/")
        export.status, export.file_key, export.updated_at = ExportStatus.EXPIRED, None, now
        session.add(export)
    return True
