"""The session cookie, shared by the routes that set or clear it: the password login's exchange, logout and SSO."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from crm_app.config import get_settings
from crm_app.db import session_scope
from crm_app.services import access


def client_ip(request: Request) -> str | None:
    """The address the request came from, as Starlette sees it.

    Args:
        request: The incoming request.

    Returns:
        The client's host, or None when Starlette does not know it.
    """
    return request.client.host if request.client else None


def set_session_cookie(response: Response, token: str) -> None:
    """Put the session token in the HttpOnly cookie, for as long as a session may live.

    Args:
        response: The response that carries the cookie.
        token: The raw session token.
    """
    # The server ends the session when the tenant's policy says; the cookie lives as long as any policy may allow.
    response.set_cookie(access.COOKIE_NAME, token, max_age=access.ABSOLUTE_RANGE[1] * 3600,
                        httponly=True, samesite="lax", secure=get_settings().effective_cookie_secure, path="/")


def delete_session_cookie(response: Response) -> None:
    """Tell the browser to drop the session cookie.

    Args:
        response: The response that clears the cookie.
    """
    response.delete_cookie(access.COOKIE_NAME, path="/", httponly=True, samesite="lax")


def end_session(token: str | None, ip: str | None = None) -> bool:
    """Revoke the session behind a cookie token, in its own transaction. Blocking: run it in a thread.

    Args:
        token: The cookie's value, if any.
        ip: The client's address, for the audit row.

    Returns:
        Whether a live session was revoked.
    """
    with session_scope() as session:
        return access.logout(session, token=token, ip=ip)
