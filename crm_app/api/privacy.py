"""`/api/privacy/bundles/{token}`: an access bundle through its expiring link, for a logged-in admin or DPO;
`/api/privacy/reports/{report_id}`: a DPO monthly report, for the same people.

The link's token is random and lives a day; the session cookie must also belong to an admin or the DPO of the
request's tenant. Bundles are personal data: `Cache-Control: private, no-store`.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crm_app.errors import CRMError
from crm_app.services import access, compliance, transaction
from crm_app.services.compliance import report


def _read(cookie: str | None, token: str, ip: str | None) -> tuple[bytes, str]:
    actor = access.resolve_actor(cookie, ip=ip)
    if actor is None:
        raise PermissionError
    with transaction() as session:
        return compliance.read_download(session, actor=actor, token=token)


async def bundle_route(request: Request) -> Response:
    """The ZIP; 401 when logged out, 403 for a role that may not, 404 for an unknown or expired link."""
    ip = request.client.host if request.client else None
    try:
        data, name = await run_in_threadpool(_read, request.cookies.get(access.COOKIE_NAME),
                                             request.path_params["token"], ip)
    except PermissionError:
        return JSONResponse({"error": "log in first"}, status_code=401)
    except CRMError as exc:
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers={"Cache-Control": "no-store"})
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store"})


def _read_report(cookie: str | None, report_id: int, ip: str | None) -> tuple[bytes, str]:
    actor = access.resolve_actor(cookie, ip=ip)
    if actor is None:
        raise PermissionError
    with transaction() as session:
        return report.read_report(session, actor=actor, report_id=report_id)


async def report_route(request: Request) -> Response:
    """The PDF; 401 when logged out, 403 for a role that may not, 404 for another tenant's or an unknown one."""
    ip = request.client.host if request.client else None
    raw = request.path_params["report_id"]
    if not raw.isdigit() or len(raw) > 12:
        return JSONResponse({"error": "report not found"}, status_code=404)
    try:
        data, name = await run_in_threadpool(_read_report, request.cookies.get(access.COOKIE_NAME), int(raw), ip)
    except PermissionError:
        return JSONResponse({"error": "log in first"}, status_code=401)
    except CRMError as exc:
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers={"Cache-Control": "no-store"})
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store"})
