"""The SMTP server's JSON API (`/sandbox/api/mail/...`) and its "Caixa de e-mails" page (`/mail`).

- `GET /sandbox/api/mail/messages`: the captured messages, newest first (summaries);
  `?to=<address>` keeps those sent to it.
- `GET /sandbox/api/mail/messages/{id}`: one message (headers, text and HTML parts).
- `GET /sandbox/api/mail/messages/{id}/html`: its HTML part alone, served under a CSP that forbids
  scripts, for the page's sandboxed iframe.
- `DELETE /sandbox/api/mail/messages`: forget them all.
- `GET|POST /sandbox/api/mail/control`: `{"mode": "up"|"421"|"refuse", "refuse_logins": bool}`.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.routing import Route

from crm_app.sandbox.control import ControlError, json_object
from crm_app.sandbox.smtp import MODES, CapturedMail, Mailbox, SmtpServer

API = "/sandbox/api/mail"
# The HTML part is someone else's markup: no scripts, no forms, no outside fetches, no framing by others.
HTML_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; "
            "frame-ancestors 'self'")


def mailbox_of(request: Request) -> Mailbox:
    """The app's captured mail and switches."""
    return request.app.state.mailbox


def _mail(request: Request) -> CapturedMail:
    try:
        mail_id = int(request.path_params["mail_id"])
    except ValueError:
        raise ControlError("the message id must be a number") from None
    mail = mailbox_of(request).find(mail_id)
    if mail is None:
        raise ControlError(f"no message {mail_id}")
    return mail


async def list_messages(request: Request) -> JSONResponse:
    """The captured messages, newest first."""
    to = (request.query_params.get("to") or "").strip().lower()
    mails = [m for m in reversed(mailbox_of(request).messages)
             if not to or to in (r.lower() for r in m.rcpt_tos)]
    return JSONResponse({"messages": [m.summary() for m in mails]})


async def get_message(request: Request) -> JSONResponse:
    """One message, whole."""
    return JSONResponse(_mail(request).full())


async def get_message_html(request: Request) -> HTMLResponse:
    """The HTML part alone, unable to run scripts (for the page's iframe)."""
    return HTMLResponse(_mail(request).html, headers={"Content-Security-Policy": HTML_CSP,
                                                      "X-Content-Type-Options": "nosniff",
                                                      "Cache-Control": "no-store"})


async def delete_messages(request: Request) -> JSONResponse:
    """Forget every message."""
    mailbox_of(request).clear()
    return JSONResponse({"cleared": True})


def _control_body(mailbox: Mailbox) -> dict:
    return {"mode": mailbox.mode, "refuse_logins": mailbox.refuse_logins, "logins": dict(mailbox.logins),
            "username": mailbox.username}


async def get_control(request: Request) -> JSONResponse:
    """The switches, and how many logins were accepted and refused."""
    return JSONResponse(_control_body(mailbox_of(request)))


async def post_control(request: Request) -> JSONResponse:
    """Change the switches: `mode` and/or `refuse_logins`."""
    body, mailbox = await json_object(request), mailbox_of(request)
    mode, refuse = body.get("mode"), body.get("refuse_logins")
    if mode is not None and mode not in MODES:
        raise ControlError(f"'mode' must be one of {', '.join(MODES)}")
    if refuse is not None and not isinstance(refuse, bool):
        raise ControlError("'refuse_logins' must be true or false")
    if refuse is not None:
        mailbox.refuse_logins = refuse
    if mode is not None:
        server: SmtpServer | None = request.app.state.smtp_server
        if server is None:
            mailbox.mode = mode
        else:
            await server.set_mode(mode)
    return JSONResponse(_control_body(mailbox))


async def mailbox_page(request: Request) -> FileResponse:
    """The "Caixa de e-mails" page (plain HTML and JS, nothing from a CDN)."""
    return FileResponse(Path(__file__).parent / "static" / "mailbox.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-store"})


ROUTES = [
    Route("/mail", mailbox_page, methods=["GET"]),
    Route(f"{API}/messages", list_messages, methods=["GET"]),
    Route(f"{API}/messages", delete_messages, methods=["DELETE"]),
    Route(f"{API}/messages/{{mail_id}}", get_message, methods=["GET"]),
    Route(f"{API}/messages/{{mail_id}}/html", get_message_html, methods=["GET"]),
    Route(f"{API}/control", get_control, methods=["GET"]),
    Route(f"{API}/control", post_control, methods=["POST"]),
]
