"""Exports against the golden analytics datasets: the rows and columns, the per-day file equals the chart's
series, role scoping, expiry, other tenants, and a job killed mid-way."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import signal
import subprocess
import zipfile
from xml.etree import ElementTree

import psutil
import pytest
from sqlalchemy import text
from sqlmodel import select

from crm_app.db import get_engine, session_scope, utcnow
from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.integrations.storage import get_storage
from crm_app.models import AuditLog, CsatSurvey, Export, Label, SlaClock, TeamMember
from crm_app.queue import get_queue
from crm_app.services import exports
from crm_app.services.analytics import criteria, figures, rollups
from crm_app.services.conversations import labels
from crm_app.services.core import jobs
from crm_app.services.exports import run
from tests.factories import make_tenant, make_user
from tests.services.analytics.test_golden import seed_sao_paulo, seed_utc
from tests.support.waiting import wait_for
from tests.support.whatsapp import run_burst_worker, worker_argv

NOV = criteria.Filters(dt.date(2026, 11, 4), dt.date(2026, 11, 5))


@pytest.fixture
def world(db):
    tenant, one, two, ana, bruno, first, second = seed_utc(db)
    boss = make_user(db, tenant.id, "executive")
    return {"tenant": tenant, "one": one, "two": two, "ana": ana, "bruno": bruno, "first": first,
            "second": second, "boss": boss}


def _export(actor, kind="conversations", fmt="csv", filters=NOV, lang="en") -> int:
    with session_scope() as s:
        row = exports.create_export(s, actor=actor, kind=kind, format=fmt, filters=filters, lang=lang)
    assert run.run_export(row.id) == "done"
    return row.id


def _csv(actor, export_id: int) -> tuple[str, list[list[str]]]:
    with session_scope() as s:
        handle, size, media, _ = exports.open_download(s, actor=actor, export_id=export_id)
    with handle:
        raw = handle.read()
    assert len(raw) == size and media.startswith("text/csv")
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    body = raw.decode("utf-8-sig")
    delimiter = ";" if body.split("\n", 2)[1].count(";") else ","
    return delimiter, list(csv.reader(io.StringIO(body), delimiter=delimiter))


def test_one_row_per_cycle_with_the_golden_figures(world, db):
    one = world["one"]  # the second cycle, closed by Bruno, was rated 4
    db.add(CsatSurvey(tenant_id=one.tenant_id, conversation_id=one.id, cycle=1, contact_id=one.contact_id,
                      contact_inbox_id=one.contact_inbox_id, inbox_id=one.inbox_id,
                      attendant_id=world["bruno"].user_id, status="rated", rating=4,
                      rated_at=dt.datetime(2026, 11, 4, 12, 33, tzinfo=dt.UTC), sent_at=utc_now_nov4()))
    db.commit()
    delimiter, lines = _csv(world["boss"], _export(world["boss"]))
    definitions, names, *rows = lines
    assert delimiter == "," and definitions[0].startswith("# One row per conversation cycle")
    assert "handoff → a person's first message" in definitions[names.index("first_response_s")]
    assert "(UTC)" in definitions[names.index("opened_at")]
    by_key = {(int(r[0]), int(r[1])): dict(zip(names, r, strict=True)) for r in rows}
    one, two = world["one"].id, world["two"].id
    assert sorted(by_key) == [(one, 0), (one, 1), (two, 0)]
    contained, handled, unanswered = by_key[(one, 0)], by_key[(one, 1)], by_key[(two, 0)]
    assert (contained["contained_by_bot"], contained["bot_time_s"], contained["resolution_s"],
            contained["closed_by"], contained["reopened"]) == ("1", "120", "120", "bot", "1")
    assert (handled["opened_at"], handled["closed_at"], handled["queue_wait_s"], handled["first_response_s"],
            handled["resolution_s"], handled["transfers"], handled["team"], handled["assignee"]) == (
        "2026-11-04 12:00:00", "2026-11-04 12:30:00", "120", "600", "1800", "1", "Suporte", "attendant user")
    assert (handled["bot_time_s"], handled["contained_by_bot"], handled["unanswered_after_handoff"]) == ("60", "0", "0")
    assert (handled["csat_status"], handled["csat_rating"], handled["csat_rated_at"]) == (
        "rated", "4", "2026-11-04 12:33:00")
    assert (contained["csat_status"], contained["csat_rating"]) == ("", "")  # the bot's close got no survey
    assert (unanswered["unanswered_after_handoff"], unanswered["windows_24h_missed"], unanswered["resolution_s"],
            unanswered["resolution_business_s"], unanswered["first_response_s"]) == ("1", "1", "90600", "29400", "")
    assert handled["contact_phone"] == "+55 11 90000-0011" and handled["number"] == "Recepção"
    # The rows hold the figures the dashboard shows: three closed cycles, their resolutions sum to its total.
    with session_scope() as s:
        report = figures.report(s, actor=world["boss"], filters=NOV, now=utc_now_nov4())
    assert sum(int(r["resolution_s"]) for r in by_key.values()) == report.totals["resolution_sum"]
    assert sum(int(r["contained_by_bot"]) for r in by_key.values()) == report.totals["contained"]
    assert sum(int(r["unanswered_after_handoff"]) for r in by_key.values()) == report.totals["unanswered"]


def utc_now_nov4() -> dt.datetime:
    return dt.datetime(2026, 11, 4, 0, 1, tzinfo=dt.UTC)


def test_sao_paulo_times_are_local_and_pt_br_uses_semicolons(db):
    tenant, c, ana = seed_sao_paulo(db)
    boss = make_user(db, tenant.id, "admin")
    export_id = _export(boss, filters=criteria.Filters(dt.date(2026, 10, 30), dt.date(2026, 11, 4)), lang="pt-BR")
    delimiter, (definitions, names, row) = _csv(boss, export_id)
    got = dict(zip(names, row, strict=True))
    assert delimiter == ";" and "America/Sao_Paulo" in definitions[names.index("aberta_em")]
    assert (got["aberta_em"], got["encerrada_em"]) == ("2026-10-30 17:50:00", "2026-11-04 09:10:00")
    assert (got["primeira_resposta_s"], got["primeira_resposta_util_s"]) == ("314100", "900")
    assert (got["resolucao_s"], got["resolucao_util_s"], got["janelas_24h_perdidas"]) == ("400800", "33600", "1")


def test_the_per_day_file_is_the_charts_series(world):
    with session_scope() as s:  # the days before today come from the stored rollups, as on the page
        rollups.rebuild(s, world["tenant"].id, NOV.since, NOV.until)
    with session_scope() as s:
        series = figures.report(s, actor=world["boss"], filters=NOV, demand=False, durations=()).days
    _, (_, names, *rows) = _csv(world["boss"], _export(world["boss"], kind="daily"))
    assert names[0] == "day" and len(rows) == len(series) == 2
    assert {n for n, _ in exports_daily_columns()} == set(series[0])  # every figure of the series, no other
    for row, day in zip(rows, series, strict=True):
        assert row[0] == day["day"]
        assert [int(v) for v in row[1:]] == [round(day[n]) for n, _ in exports_daily_columns()[1:]]
    first = dict(zip(names, rows[0], strict=True))  # hand-computed on the golden dataset (test_golden)
    assert (first["opened"], first["closed"], first["contained_by_bot"], first["handoffs"]) == ("2", "1", "1", "2")


def exports_daily_columns():
    from crm_app.domain.exports import DAILY_COLUMNS

    return DAILY_COLUMNS


def test_xlsx_has_the_same_rows_and_real_dates(world):
    export_id = _export(world["boss"], fmt="xlsx")
    with session_scope() as s:
        handle, _, media, name = exports.open_download(s, actor=world["boss"], export_id=export_id)
    with handle:
        definitions, names, *rows = _sheet(handle.read())
    assert media.endswith("spreadsheetml.sheet") and name.endswith(".xlsx")
    assert definitions[0].startswith("# One row per") and names[:2] == ["conversation_id", "cycle"]
    assert len(rows) == 3
    handled = dict(zip(names, next(r for r in rows if r[1] == 1), strict=True))
    assert handled["opened_at"] == dt.datetime(2026, 11, 4, 12, 0) and handled["first_response_s"] == 600


_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def _sheet(data: bytes) -> list[list]:
    """The first sheet's rows: text, numbers, and dates (the cells with the date style) as datetimes."""
    book = zipfile.ZipFile(io.BytesIO(data))
    shared = []
    if "xl/sharedStrings.xml" in book.namelist():
        shared = ["".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t"))
                  for si in ElementTree.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", _NS)]
    rows = []
    for row in ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml")).iter(f"{{{_NS['m']}}}row"):
        cells: dict[int, object] = {}
        for c in row.findall("m:c", _NS):
            col = _column(c.get("r"))
            if c.get("t") == "s":
                cells[col] = shared[int(c.find("m:v", _NS).text)]
            elif c.get("t") == "inlineStr":
                cells[col] = "".join(t.text or "" for t in c.iter(f"{{{_NS['m']}}}t"))
            else:
                number = float(c.find("m:v", _NS).text)
                cells[col] = (dt.datetime(1899, 12, 30) + dt.timedelta(days=number)).replace(microsecond=0) \
                    if c.get("s") and number > 40000 and number != int(number) else int(number)
        rows.append([cells.get(i) for i in range(max(cells) + 1)] if cells else [])
    return rows


def _column(ref: str) -> int:
    letters = "".join(ch for ch in ref if ch.isalpha())
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def test_filters_labels_and_role_scoping(world, db):
    tenant, boss = world["tenant"], world["boss"]
    # a formula-like label is written as text, never run by the spreadsheet
    labels.add_label(db, actor=make_user(db, tenant.id, "admin"), conversation_id=world["two"].id,
                     name='=HYPERLINK("x")')
    db.commit()
    label = db.exec(select(Label).where(Label.tenant_id == tenant.id)).one()
    _, (_, _, *rows) = _csv(boss, _export(boss, filters=criteria.Filters(NOV.since, NOV.until, label_id=label.id)))
    assert [(int(r[0]), r[8]) for r in rows] == [(world["two"].id, "'=HYPERLINK(\"x\")")]
    _, (_, _, *rows) = _csv(boss, _export(boss, filters=criteria.Filters(NOV.since, NOV.until,
                                                                        team_id=world["second"].id)))
    assert [(int(r[0]), int(r[1])) for r in rows] == [(world["one"].id, 1)]
    # A supervisor sees their teams' cycles only, whatever they ask for.
    chief = make_user(db, tenant.id, "supervisor")
    db.add(TeamMember(tenant_id=tenant.id, team_id=world["first"].id, user_id=chief.user_id))
    db.commit()
    _, (_, _, *rows) = _csv(chief, _export(chief))
    assert [int(r[0]) for r in rows] == [world["two"].id]
    with session_scope() as s, pytest.raises(PermissionDenied):
        exports.create_export(s, actor=world["ana"], kind="conversations", format="csv", filters=NOV)
    with session_scope() as s, pytest.raises(ValidationError):
        exports.create_export(s, actor=boss, kind="messages", format="csv", filters=NOV)


def test_other_tenants_and_other_people_are_refused(world, db):
    export_id = _export(world["boss"])
    stranger = make_user(db, make_tenant(db).id, "admin")
    peer = make_user(db, world["tenant"].id, "supervisor")
    for actor in (stranger, peer):
        with session_scope() as s, pytest.raises(NotFound):
            exports.open_download(s, actor=actor, export_id=export_id)
        with session_scope() as s, pytest.raises(NotFound):
            exports.get_export(s, actor=actor, export_id=export_id)
        with session_scope() as s:
            assert exports.list_exports(s, actor=actor) == []
    other_team = make_user(db, stranger.tenant_id, "admin")
    with session_scope() as s, pytest.raises(NotFound):  # a filter naming another tenant's team
        exports.create_export(s, actor=other_team, kind="conversations", format="csv",
                              filters=criteria.Filters(NOV.since, NOV.until, team_id=world["first"].id))


def test_every_download_is_audited_and_an_expired_link_is_refused(world, db):
    export_id = _export(world["boss"])
    for _ in range(2):
        _csv(world["boss"], export_id)
    with session_scope() as s:
        entries = s.exec(select(AuditLog).where(AuditLog.action == "export.download",
                                                AuditLog.target_id == str(export_id))).all()
        row = exports.get_export(s, actor=world["boss"], export_id=export_id)
    assert len(entries) == 2 and entries[0].actor_user_id == world["boss"].user_id
    assert row.expires_at - row.done_at == dt.timedelta(hours=24) and row.downloadable
    later = row.expires_at + dt.timedelta(seconds=1)
    with session_scope() as s, pytest.raises(exports.ExportExpired) as refused:
        exports.open_download(s, actor=world["boss"], export_id=export_id, now=later)
    assert refused.value.status == 410
    key = db.get(Export, export_id).file_key
    assert run.sweep(now=row.expires_at - dt.timedelta(seconds=1)) == 0 and get_storage().exists(key)
    assert run.sweep(now=later) == 1 and not get_storage().exists(key)
    with session_scope() as s:
        assert exports.get_export(s, actor=world["boss"], export_id=export_id).status == "expired"
        with pytest.raises(exports.ExportNotReady):
            exports.open_download(s, actor=world["boss"], export_id=export_id)


def test_a_job_killed_mid_way_is_run_again_by_the_sweep_and_a_stale_run_stops(world):
    with session_scope() as s:
        row = exports.create_export(s, actor=world["boss"], kind="conversations", format="xlsx", filters=NOV)
    blocker = get_engine().connect()
    trans = blocker.begin()  # the job claims the export and counts its rows, then waits to read the labels
    blocker.execute(text("LOCK TABLE conversation_labels IN ACCESS EXCLUSIVE MODE"))
    worker = subprocess.Popen(worker_argv("bulk"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        wait_for(lambda: blocker.execute(text(  # a fresh snapshot of the activity at each look
            "SELECT pg_stat_clear_snapshot(), (SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%SELECT f.conversation_id, f.cycle%')")).one()[1], timeout=60)
    finally:  # the worker and its work horse die mid-export
        for process in psutil.Process(worker.pid).children(recursive=True):
            process.kill()
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        trans.rollback()
        blocker.close()
    with session_scope() as s:
        stuck = exports.get_export(s, actor=world["boss"], export_id=row.id)
    assert (stuck.status, stuck.rows_total, stuck.rows_done) == ("running", 3, 0)
    assert run.sweep() == 0  # not stalled yet: a live job could still be at work
    later = utcnow() + run.STALLED_AFTER + dt.timedelta(seconds=1)
    assert run.sweep(now=later) == 1 and run.sweep(now=later) == 0  # queued again once
    assert any(j.startswith(f"export-{row.id}-retry-1-") for j in get_queue("bulk").job_ids)
    with pytest.raises(run.Superseded):  # the dead attempt, were it to wake up, may not write any more
        run._progress(row.id, 1, rows_done=2)
    result = run_burst_worker("bulk")
    assert result.returncode == 0, result.stderr[-2000:]
    with session_scope() as s:
        done = exports.get_export(s, actor=world["boss"], export_id=row.id)
        attempts = s.get(Export, row.id).attempts
    assert (done.status, done.rows_done, done.rows_total, attempts) == ("done", 3, 3, 2)
    with pytest.raises(run.Superseded):
        run._progress(row.id, 1, rows_done=2)


def test_an_export_that_keeps_dying_fails_with_the_reason(world):
    with session_scope() as s:
        row = exports.create_export(s, actor=world["boss"], kind="conversations", format="csv", filters=NOV)
    get_queue("bulk").empty()
    now = utcnow()
    for attempt in range(1, run.MAX_ATTEMPTS + 1):
        assert run._claim(row.id) is not None  # a run starts, and dies without a word
        run._progress(row.id, attempt, rows_done=1)  # the current attempt writes
        if attempt > 1:
            with pytest.raises(run.Superseded):  # the one before it, woken up, may not
                run._progress(row.id, attempt - 1, rows_done=2)
        now += run.STALLED_AFTER + dt.timedelta(seconds=1)
        assert run.sweep(now=now) == 1
        get_queue("bulk").empty()
    with session_scope() as s:
        failed = exports.get_export(s, actor=world["boss"], export_id=row.id)
    assert failed.status == "failed" and "stopped 3 times" in failed.error
    assert run.run_export(row.id) == "skipped"


def test_rows_arrive_from_the_database_a_batch_at_a_time(world):
    """The whole range never sits in the job's memory: the cursor hands over `batch` rows at a time (the bench
    measures the same on a year: peak RSS flat from 12,000 to 50,000 rows)."""
    with session_scope() as s:
        scope = criteria.scope_for(s, world["boss"])
    query, _ = run.conversation_query(NOV, scope)
    params = criteria.fact_params(world["tenant"].id, "UTC", NOV, scope)
    assert [len(b) for b in run.stream_rows(query, params, batch=2)] == [2, 1]


def test_the_job_is_registered_on_bulk():
    assert jobs.spec("run_export").queue == "bulk" and jobs.job_id("run_export", 7) == "export-7"
    assert jobs.spec("sweep_exports").every


def test_the_sla_columns_hold_each_cycles_latest_clock_and_its_breaches(world, db):
    """Per target: the latest clock's status and deadline, and the missed clocks, of the cycle they started in."""
    one, two = world["one"], world["two"]
    opened = dict(((c, n), at) for c, n, at in db.execute(text(
        "SELECT conversation_id, cycle, opened_at FROM conversation_facts WHERE conversation_id IN (:a, :b)"),
        {"a": one.id, "b": two.id}).all())
    minute = dt.timedelta(minutes=1)

    def clock(conversation, target, status, started, due, done=None):
        db.add(SlaClock(tenant_id=conversation.tenant_id, conversation_id=conversation.id, target=target,
                        status=status, started_at=started, due_at=due, done_at=done, inbox_id=conversation.inbox_id))

    first, second = opened[(one.id, 0)], opened[(one.id, 1)]
    clock(one, "first_response", "hit", first + minute, first + 15 * minute, first + 2 * minute)
    clock(one, "next_response", "missed", second + 5 * minute, second + 10 * minute)
    clock(one, "next_response", "hit", second + 15 * minute, second + 20 * minute, second + 18 * minute)
    clock(one, "resolution", "active", second, None)  # paused with no known end: no deadline
    clock(two, "resolution", "missed", opened[(two.id, 0)] - minute, opened[(two.id, 0)] + 60 * minute)
    db.commit()
    _, (definitions, names, *lines) = _csv(world["boss"], _export(world["boss"]))
    rows = {(int(r[0]), int(r[1])): dict(zip(names, r, strict=True)) for r in lines}
    assert "(UTC)" in definitions[names.index("sla_first_response_due_at")]
    assert "missed" in definitions[names.index("sla_resolution_status")]

    def sla_of(row, target):
        return row[f"sla_{target}_status"], row[f"sla_{target}_due_at"], row[f"sla_{target}_breaches"]

    local = "%Y-%m-%d %H:%M:%S"  # the golden dataset's tenant is on UTC
    cycle0, cycle1, other = rows[(one.id, 0)], rows[(one.id, 1)], rows[(two.id, 0)]
    assert sla_of(cycle0, "first_response") == ("hit", (first + 15 * minute).strftime(local), "0")
    assert sla_of(cycle0, "next_response") == ("", "", "0")  # the later cycle's clocks are not the first's
    assert sla_of(cycle1, "next_response") == ("hit", (second + 20 * minute).strftime(local), "1")
    assert sla_of(cycle1, "resolution") == ("active", "", "0")
    assert sla_of(cycle1, "first_response") == ("", "", "0")
    assert sla_of(other, "resolution") == ("missed", (opened[(two.id, 0)] + 60 * minute).strftime(local), "1")
