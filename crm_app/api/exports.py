"""`/api/exports/{export_id}`: an export's file for the logged-in user (the page's download link).

The session cookie decides who asks; the service decides whether they may (the requester, or the tenant's
executives and admins), whether the file is still there (24 hours), and writes the download to the audit trail.
The file is streamed, never read whole.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from crm_app.api.v1_exports import chunks
from crm_app.errors import CRMError
from crm_app.services import access, exports, transaction


def _open(cookie: str | None, ip: str | None, export_id: int):
    actor = access.resolve_actor(cookie, ip=ip)
    if actor is None:
        raise PermissionError
    with transaction() as session:
        return exports.open_download(session, actor=actor, export_id=export_id)


async def download_route(request: Request) -> Response:
    """The file; 401 logged out, 403 a role that may not export, 404 not theirs, 409 not ready, 410 expired."""
    raw = request.path_params["export_id"]
    if not raw.isdigit() or len(raw) > 12:
        return JSONResponse({"error": "export not found"}, status_code=404)
    ip = request.client.host if request.client else None
    try:
        handle, size, media_type, name = await run_in_threadpool(
            _open, request.cookies.get(access.COOKIE_NAME), ip, int(raw))
    except PermissionError:
        return JSONResponse({"error": "log in first"}, status_code=401)
    except CRMError as exc:
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers={"Cache-Control": "no-store"})
    return StreamingResponse(chunks(handle), media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Content-Length": str(size),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})
