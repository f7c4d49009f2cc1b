"""`/api/media/{message_id}`: a message's file, for logged-in users of the same tenant only."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crm_app.errors import CRMError
from crm_app.services import access, channel, transaction

INLINE_PREFIXES = ("image/", "audio/", "video/")


def _read(token: str | None, message_id: int, ip: str | None) -> tuple[bytes, str, str]:
    actor = access.resolve_actor(token, ip=ip)
    if actor is None:
        raise PermissionError
    with transaction() as session:
        return channel.read_message_media(session, actor=actor, message_id=message_id)


async def media_route(request: Request) -> Response:
    """Stream a stored file; 401 when logged out, 404 for missing or another tenant's."""
    try:
        message_id = int(request.path_params["message_id"])
    except ValueError:
        return JSONResponse({"error": "not found"}, status_code=404)
    ip = request.client.host if request.client else None
    try:
        data, mime, filename = await run_in_threadpool(_read, request.cookies.get(access.COOKIE_NAME), message_id, ip)
    except PermissionError:
        return JSONResponse({"error": "log in first"}, status_code=401)
    except CRMError as exc:
        return JSONResponse({"error": exc.message}, status_code=exc.status)
    disposition = "inline" if mime.startswith(INLINE_PREFIXES) else "attachment"
    return Response(data, media_type=mime, headers={
        "Content-Disposition": f'{disposition}; filename="{filename}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, max-age=3600",
    })
