"""REST API v1, exports: ask for an analytics export, follow it, download its file (`exports:read|write`).

The same filters as `/metrics/*` and the `/analytics` page, and the same scope: executives and admins export
the tenant, supervisors their teams; attendants may not export. A file is kept 24 hours after it is done; the
download answers 410 after that, and every download is written to the audit trail.
"""

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Annotated, Any, BinaryIO, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from crm_app.api.v1_metrics import PERIOD, filters_for
from crm_app.services import access, exports
from crm_app.services.core.actors import Actor

CHUNK = 64 * 1024


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"kind": "conversations", "format": "xlsx", "period": "90d", "team_id": 3}]})

    kind: Literal["conversations", "daily"] = Field(
        "conversations", description="`conversations`: one row per conversation cycle (opening or reopening to "
        "close) that opened or closed in the period, with its times, durations (wall and business seconds), "
        "containment and unanswered-after-handoff. `daily`: the figures per local day, exactly the "
        "`/metrics/timeseries` series.")
    format: Literal["csv", "xlsx"] = Field(
        "csv", description="CSV: UTF-8 with a BOM; `;` between fields when `lang` is pt-BR (Excel in Brazil), "
        "`,` in English. Both formats start with a row of definitions, then the column names.")
    lang: Literal["pt-BR", "en"] | None = Field(None, description="Column names and definitions (default: the "
                                                                "token user's language).")
    period: PERIOD = "30d"
    since: Annotated[str | None, Field(max_length=10, description="custom: first day, YYYY-MM-DD.")] = None
    until: Annotated[str | None, Field(max_length=10, description="custom: last day, YYYY-MM-DD.")] = None
    team_id: Annotated[int | None, Field(ge=1)] = None
    inbox_id: Annotated[int | None, Field(ge=1, description="The WhatsApp number.")] = None
    label_id: Annotated[int | None, Field(ge=1)] = None
    attendant_id: Annotated[int | None, Field(ge=1)] = None


class ExportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    format: str
    status: str = Field(description="queued, running, done, failed or expired.")
    filters: dict[str, Any] = Field(description="The period (local days) and filters it covers.")
    rows_done: int = Field(description="Rows written so far.")
    rows_total: int = Field(description="Rows the export will hold (known once it runs).")
    size: int = Field(description="The file's size in bytes, once done.")
    error: str | None
    created_at: dt.datetime
    done_at: dt.datetime | None
    expires_at: dt.datetime | None = Field(description="The download is refused (410) from then on.")
    downloadable: bool
    download_url: str | None = None


def _out(row: exports.ExportRow) -> ExportOut:
    out = ExportOut.model_validate(row)
    out.download_url = f"/api/v1/exports/{row.id}/download" if row.downloadable else None
    return out


def chunks(handle: BinaryIO) -> Iterator[bytes]:
    """The file's bytes in pieces, for a streamed answer; closes it at the end."""
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def add_routes(app: FastAPI, *, scoped: Callable[[str], Callable[..., Actor]], run: Callable[..., Any],
               errors: dict[int | str, dict[str, Any]], require_read: Callable[[Request, str], None]) -> None:
    """Mount the export routes on the v1 app (`scoped(scope)` is its token dependency, `run` its service call,
    `require_read(request, area)` refuses a token that may not read an area the file embeds)."""
    read = Annotated[Actor, Depends(scoped(access.scope("exports")))]
    write = Annotated[Actor, Depends(scoped(access.scope("exports", write=True)))]
    gone = {**errors, 409: {**errors[404], "description": "Not done yet, or failed."},
            410: {**errors[404], "description": "Expired: files are kept 24 hours after they are done."}}

    def create(session, *, actor: Actor, body: ExportIn) -> exports.ExportRow:
        filters = filters_for(session, actor, body.period, body.since, body.until, body.team_id, body.inbox_id,
                           body.label_id, body.attendant_id)
        return exports.create_export(session, actor=actor, kind=body.kind, format=body.format, filters=filters,
                                     lang=body.lang)

    @app.post("/exports", response_model=ExportOut, status_code=202, tags=["exports"], responses=errors,
              summary="Ask for an export (CSV or XLSX) of the analytics; it runs as a background job",
              description="Poll `GET /exports/{id}` for `status` and `rows_done`/`rows_total`; once `done`, "
                          "download it from `download_url` within 24 hours.")
    def post_export(body: ExportIn, actor: write) -> ExportOut:
        return _out(run(create, actor, body=body))

    @app.get("/exports/{export_id}", response_model=ExportOut, tags=["exports"], responses=errors,
             summary="An export's status and progress")
    def get_export(export_id: int, actor: read) -> ExportOut:
        return _out(run(exports.get_export, actor, export_id=export_id))

    @app.get("/exports/{export_id}/download", tags=["exports"], responses=gone, response_class=StreamingResponse,
             summary="Download an export's file (audited); 410 after 24 hours",
             description="A conversations export holds contacts' names and phones: the token needs "
                         "`contacts:read` too, as for any object embedding a contact.")
    def download(export_id: int, actor: read, request: Request) -> StreamingResponse:
        if run(exports.get_export, actor, export_id=export_id).kind == "conversations":
            require_read(request, "contacts")
        handle, size, media_type, name = run(exports.open_download, actor, export_id=export_id)
        return StreamingResponse(chunks(handle), media_type=media_type, headers={
            "Content-Disposition": f'attachment; filename="{name}"', "Content-Length": str(size),
            "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})
