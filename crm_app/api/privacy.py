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


def _read(cookie: str | None, ip: str | None, reader) -> tuple[bytes, str]:
    """`reader(session, actor)` for the session cookie's user; PermissionError when there is none."""
    actor = access.resolve_actor(cookie, ip=ip)
    if actor is None:
        raise PermissionError
    with transaction() as session:
        return reader(session, actor)


async def _download(request: Request, media_type: str, reader) -> Response:
    """A private file for the logged-in user: 401 logged out, the service's status (403, 404…) on refusal."""
    ip = request.client.host if request.client else None
    try:
        data, name = await run_in_threadpool(_read, request.cookies.get(access.COOKIE_NAME), ip, reader)
    except PermissionError:
        return JSONResponse({"error": "log in first"}, status_code=401)
    except CRMError as exc:
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers={"Cache-Control": "no-store"})
    return Response(data, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store"})


async def bundle_route(request: Request) -> Response:
    """The ZIP; 401 when logged out, 403 for a role that may not, 404 for an unknown or expired link."""
    token = request.path_params["token"]
    return await _download(request, "application/zip",
                           lambda session, actor: compliance.read_download(session, actor=actor, token=token))


async def report_route(request: Request) -> Response:
    """The PDF; 401 when logged out, 403 for a role that may not, 404 for another tenant's or an unknown one."""
    raw = request.path_params["report_id"]
    if not raw.isdigit() or len(raw) > 12:
        return JSONResponse({"error": "report not found"}, status_code=404)
    return await _download(request, "application/pdf",
                           lambda session, actor: report.read_report(session, actor=actor, report_id=int(raw)))
