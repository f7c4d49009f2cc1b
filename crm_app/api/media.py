"""`/api/media/{media_token}`: a message's stored file, for the users who may open its conversation.

The path names a random token (`messages.media_token`), never the sequential message id, so media URLs
cannot be enumerated; and the conversation's own access rule decides (an attendant gets only the files of
conversations they may open). Files are personal data: `Cache-Control: private, no-store`.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crm_app.errors import CRMError
from crm_app.services import access, channel, transaction

INLINE_PREFIXES = ("image/", "audio/", "video/")


def _read(token: str | None, media_token: str, ip: str | None) -> tuple[bytes, str, str]:
    actor = access.resolve_actor(token, ip=ip)
    if actor is None:
        raise PermissionError
    with transaction() as session:
        return channel.read_message_media(session, actor=actor, media_token=media_token)


async def media_route(request: Request) -> Response:
    """Stream a stored file; 401 when logged out, 404 for an unknown token or another tenant's file, 403 for
    a conversation the user may not open."""
    media_token = request.path_params["media_token"]
    ip = request.client.host if request.client else None
    try:
        data, mime, filename = await run_in_threadpool(_read, request.cookies.get(access.COOKIE_NAME), media_token,
                                                       ip)
    except PermissionError:
        return JSONResponse({"error": "log in first"}, status_code=401)
    except CRMError as exc:
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers={"Cache-Control": "no-store"})
    disposition = "inline" if mime.startswith(INLINE_PREFIXES) else "attachment"
    return Response(data, media_type=mime, headers={
        "Content-Disposition": f'{disposition}; filename="{filename}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, no-store",
    })
