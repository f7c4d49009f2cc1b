"""REST API v1: a FastAPI app mounted at /api/v1, authenticated with per-tenant bearer tokens.

A token acts as its user: every endpoint calls the same service as the UI, so the user's role and tenant
checks apply, and the token's scopes narrow them further. Errors always have the shape
`{"error": {"code", "message"}}`.
"""

import hashlib
import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Body, Depends, FastAPI, Header, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_app.api import hardening, v1_csat, v1_docs, v1_exports, v1_metrics, v1_privacy, v1_sla, v1_sla_metrics
from crm_app.api import v1_schemas as s
from crm_app.api.v1_webhooks import webhook_routes
from crm_app.config import get_settings
from crm_app.errors import CRMError, ValidationError
from crm_app.services import access, channel, conversations, inbox, routing, settings, transaction
from crm_app.services.core.actors import Actor
from crm_app.services.sla import priority as sla_priority

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
MAX_BODY_BYTES = 64 * 1024
RATE_LIMIT_SETTING = "security.api_rate_limit_per_minute"  # install-wide; API_RATE_LIMIT_PER_MINUTE its default
WINDOW_HINT = 'The 24-hour window is closed: send an approved template ({"type": "template", ...}) instead.'
DESCRIPTION = f"""\
Read and work the WhatsApp inbox from other systems.

**Authentication.** An admin creates a token in *Configurações → Tokens de API* and copies it once.
Send it on every request as `Authorization: Bearer crm_…`. The token acts as the user it was created for:
that user's role and tenant decide what it can see and do, and the token's scopes narrow it further.
Objects embedded in an answer obey their own scope: without `contacts:read` a conversation shows its contact's
id and name only (no phone, e-mail, attributes, labels or history), without `messages:read` no message preview,
and searching conversations (`q`, which matches those fields) needs both.
Deactivating the user or revoking the token stops it at once, and for good: reactivating the user does not
bring the token back.

**Errors** are JSON: `{{"error": {{"code": "...", "message": "..."}}}}`. 401 means a missing, unknown or
revoked token; 403 a missing scope or a role that may not do this; 404 something that does not exist in
your tenant; 409 a closed 24-hour window, or a marketing template (or one whose category the number has not
synced) to a contact without marketing consent (`marketing_consent_required`); 413 a body over
{MAX_BODY_BYTES // 1024} KB; 422 invalid input; 429 more requests a minute for one token than the install
allows (120 by default; see `Retry-After`).

**Sending.** Send an `Idempotency-Key` header with every message: a retry with the same key returns the
same message and WhatsApp receives it once.
"""

bearer = HTTPBearer(auto_error=False, scheme_name="bearerAuth", bearerFormat="crm_…",
                    description="A token from Configurações → Tokens de API: `Authorization: Bearer crm_…`.")


class ApiProblem(Exception):
    """An error answered as is: status, code, message and extra headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None,
           **extra: Any) -> JSONResponse:
    body = {"code": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _authenticate(request: Request, secret: str | None, scope: str) -> Actor:
    if not secret:
        raise ApiProblem(401, "not_authenticated", "send the header Authorization: Bearer <token>",
                         {"WWW-Authenticate": 'Bearer realm="api"'})
    ip = request.client.host if request.client else None
    wait = hardening.failed_auth_retry_after(ip)  # an address guessing tokens is stopped before the lookup
    if wait:
        raise ApiProblem(429, "rate_limited", "too many invalid tokens from this address; wait",
                         {"Retry-After": str(wait)})
    with transaction() as session:
        found = access.authenticate_token(session, secret, ip=ip)
    if found is None:
        hardening.record_failed_auth(ip)
        raise ApiProblem(401, "invalid_token", "the token is unknown, expired or revoked",
                         {"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'})
    limit = request.app.state.rate_limit_per_minute or settings.value(None, RATE_LIMIT_SETTING, tenant_id=None)
    retry_after = access.take_request_slot(found.token_id, limit=limit)
    if retry_after:
        raise ApiProblem(429, "rate_limited", "too many requests for this token; slow down",
                         {"Retry-After": str(retry_after)})
    _require(found.scopes, scope)
    request.state.token_scopes = found.scopes
    return found.actor


def _require(scopes: frozenset[str], scope: str) -> None:
    if scope not in scopes:
        raise ApiProblem(403, "insufficient_scope", f"this token lacks the scope {scope}",
                         {"WWW-Authenticate": f'Bearer realm="api", error="insufficient_scope", scope="{scope}"'})


def require_read(request: Request, area: str) -> None:
    """403 unless the request's token may also read `area` (a file that embeds that area's data)."""
    _require(request.state.token_scopes, access.scope(area))


def _may_read(request: Request, area: str) -> bool:
    """Whether the request's token may read `area`: embedded objects obey their own scope, not the route's."""
    return access.scope(area) in request.state.token_scopes


def _conversation(request: Request, row: Any) -> s.Conversation:
    """A conversation row as this token may see it: the contact's phone needs `contacts:read`, the preview of
    the last message `messages:read`."""
    hidden: dict[str, Any] = {}
    if not _may_read(request, "contacts"):
        hidden["contact_phone"] = None
    if not _may_read(request, "messages"):
        hidden["preview"] = None
    return s.Conversation.model_validate(row).model_copy(update=hidden)


def _contact(request: Request, contact: Any) -> s.Contact | s.ContactRef:
    """The conversation's contact: in full with `contacts:read`, else only its id and name."""
    if _may_read(request, "contacts"):
        return s.Contact.model_validate(contact)
    return s.ContactRef(id=contact.id, name=contact.name)


def scoped(scope: str) -> Callable[..., Actor]:
    """A dependency: the token's actor, if the token holds `scope`."""

    def dependency(request: Request,
                   credentials: Annotated[HTTPAuthorizationCredentials | None,
                                          Security(bearer, scopes=[scope])]) -> Actor:
        return _authenticate(request, credentials.credentials if credentials else None, scope)

    dependency.__name__ = f"scope_{scope.replace(':', '_')}"
    return dependency


def run(fn: Callable[..., Any], actor: Actor, **kwargs: Any) -> Any:
    """Call one service in one transaction, as the token's actor."""
    with transaction() as session:
        return fn(session, actor=actor, **kwargs)


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": s.ErrorBody, "description": text} for code, text in (
        (401, "Missing, unknown, expired or revoked token."),
        (403, "The token lacks the scope, or its user's role may not do this."),
        (404, "Not found in your tenant."),
        (422, "Invalid input."),
        (429, "Rate limit; see Retry-After."),
    )
}


def _with(*codes: int) -> dict[int | str, dict[str, Any]]:
    extra = {409: {"model": s.ErrorBody, "description": "The 24-hour window is closed: send a template; or a "
                   "marketing template (or one of unsynced category) to a contact without marketing consent "
                   "(marketing_consent_required)."},
             413: {"model": s.ErrorBody, "description": f"Body over {MAX_BODY_BYTES // 1024} KB."}}
    return {**ERRORS, **{c: extra[c] for c in codes}}


ConversationsRead = Annotated[Actor, Depends(scoped(access.scope("conversations")))]
ConversationsWrite = Annotated[Actor, Depends(scoped(access.scope("conversations", write=True)))]
MessagesRead = Annotated[Actor, Depends(scoped(access.scope("messages")))]
MessagesWrite = Annotated[Actor, Depends(scoped(access.scope("messages", write=True)))]
ContactsRead = Annotated[Actor, Depends(scoped(access.scope("contacts")))]
ContactsWrite = Annotated[Actor, Depends(scoped(access.scope("contacts", write=True)))]
UsersRead = Annotated[Actor, Depends(scoped(access.scope("users")))]
SettingsRead = Annotated[Actor, Depends(scoped(access.scope("settings")))]
SettingsWrite = Annotated[Actor, Depends(scoped(access.scope("settings", write=True)))]


def _set_priority(session: Session, *, actor: Actor, conversation_id: int, priority: str) -> Any:
    """The priority through the SLA service, then the conversation's row as the inbox lists it."""
    sla_priority.set_priority(session, actor=actor, conversation_id=conversation_id, priority=priority)
    return inbox.conversation_row(session, conversation_id)


def _conversation_routes(app: FastAPI) -> None:
    @app.get("/conversations", response_model=s.ConversationPage, tags=["conversations"], responses=ERRORS,
             summary="List conversations")
    def list_conversations(
        actor: ConversationsRead,
        request: Request,
        tab: Annotated[Literal["mine", "unassigned", "bot", "all", "closed"],
                       Query(description="Attendants may not use `all`.")] = "mine",
        q: Annotated[str | None, Query(max_length=200, description=(
            "Name, phone, e-mail or message text; needs `contacts:read` and `messages:read` too."))] = None,
        status: Annotated[Literal["open", "pending", "snoozed", "closed"] | None, Query()] = None,
        team_id: Annotated[int | None, Query(ge=1)] = None,
        label_id: Annotated[int | None, Query(ge=1)] = None,
        inbox_id: Annotated[int | None, Query(ge=1)] = None,
        sort: Annotated[Literal["recent", "window", "due", "priority"], Query(description=(
            "`window`: closing windows first; `due`: the nearest SLA deadline first (none last); `priority`: "
            "highest first, then as `recent`."))] = "recent",
        at_risk: Annotated[bool, Query(description=(
            "Only conversations whose SLA deadline passed or is in the last 20 % of its window."))] = False,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
    ) -> s.ConversationPage:
        if q:  # a search matches contact and message fields: it reads them
            _require(request.state.token_scopes, access.scope("contacts"))
            _require(request.state.token_scopes, access.scope("messages"))
        page = run(inbox.list_conversations, actor, tab=tab, query=q, team_id=team_id, label_id=label_id,
                   status=status, inbox_id=inbox_id, sort=sort, cursor=cursor, limit=limit, at_risk=at_risk)
        return s.ConversationPage(data=[_conversation(request, r) for r in page.rows],
                                  next_cursor=page.next_cursor, total=page.total)

    @app.get("/conversations/{conversation_id}", response_model=s.ConversationDetail, tags=["conversations"],
             responses=ERRORS, summary="One conversation, with its contact")
    def get_conversation(conversation_id: int, actor: ConversationsRead, request: Request) -> s.ConversationDetail:
        detail = run(inbox.get_conversation, actor, conversation_id=conversation_id)
        return s.ConversationDetail(conversation=_conversation(request, detail.row),
                                    contact=_contact(request, detail.contact), can_reply=detail.can_reply,
                                    blocked_reason=detail.blocked_reason, window_open=detail.window_open)

    @app.post("/conversations/{conversation_id}/take_over", response_model=s.Conversation, tags=["conversations"],
              responses=ERRORS, summary="Take over: assign the conversation to the token's user")
    def take_over(conversation_id: int, actor: ConversationsWrite, request: Request) -> s.Conversation:
        return _conversation(request, run(inbox.take_over, actor, conversation_id=conversation_id))

    @app.post("/conversations/{conversation_id}/transfer", response_model=s.Conversation, tags=["conversations"],
              responses=_with(413), summary="Transfer to a team and/or a user")
    def transfer(conversation_id: int, body: s.Transfer, actor: ConversationsWrite,
                 request: Request) -> s.Conversation:
        row = run(inbox.transfer, actor, conversation_id=conversation_id, team_id=body.team_id,
                  user_id=body.user_id, reason=body.reason)
        return _conversation(request, row)

    @app.post("/conversations/{conversation_id}/close", response_model=s.Conversation, tags=["conversations"],
              responses=_with(413), summary="Close, with an optional private note")
    def close(conversation_id: int, actor: ConversationsWrite, request: Request,
              body: Annotated[s.Close | None, Body()] = None) -> s.Conversation:
        row = run(inbox.close, actor, conversation_id=conversation_id, note=body.note if body else None)
        return _conversation(request, row)

    @app.post("/conversations/{conversation_id}/priority", response_model=s.Conversation, tags=["conversations"],
              responses=ERRORS, summary="Set the priority (supervisors and admins)")
    def set_priority(conversation_id: int, body: s.SetPriority, actor: ConversationsWrite,
                     request: Request) -> s.Conversation:
        return _conversation(request, run(_set_priority, actor, conversation_id=conversation_id,
                                          priority=body.priority))


def client_key_for(actor: Actor, idempotency_key: str) -> str:
    """The stored client key of an API send: scoped to the user, so two callers never share a key."""
    digest = hashlib.sha256(f"{actor.tenant_id}:{actor.user_id}:{idempotency_key}".encode()).hexdigest()
    return "api-" + digest[:60]


def _content(body: s.TextMessage | s.TemplateMessage) -> dict[str, Any]:
    if isinstance(body, s.TextMessage):
        return {"type": "text", "body": body.text, "preview_url": body.preview_url}
    return {"type": "template", "name": body.name, "language": body.language, "body_params": body.body_params}


def _message_routes(app: FastAPI) -> None:
    @app.get("/conversations/{conversation_id}/messages", response_model=s.MessageList, tags=["messages"],
             responses=ERRORS, summary="Messages of a conversation, oldest first")
    def list_messages(conversation_id: int, actor: MessagesRead,
                      before_id: Annotated[int | None, Query(ge=1, description="Only messages older than this id.")]
                      = None,
                      limit: Annotated[int, Query(ge=1, le=100)] = 50) -> s.MessageList:
        rows = run(inbox.list_messages, actor, conversation_id=conversation_id, before_id=before_id, limit=limit)
        return s.MessageList(data=[s.Message.model_validate(r) for r in rows])

    @app.post("/conversations/{conversation_id}/messages", response_model=s.SentMessage, status_code=202,
              tags=["messages"], responses=_with(409, 413), summary="Send a message (queued for delivery)")
    def send(conversation_id: int, actor: MessagesWrite,
             body: Annotated[s.SendMessage, Body(openapi_examples=s.SEND_EXAMPLES)],
             idempotency_key: Annotated[str | None, Header(
                 alias="Idempotency-Key", pattern=r"^[\x21-\x7e]{1,100}$",
                 description="Any unique string (e.g. a UUID). Repeating it returns the same message.")] = None,
             ) -> s.SentMessage:
        reply_to = body.reply_to_message_id if isinstance(body, s.TextMessage) else None
        key = client_key_for(actor, idempotency_key) if idempotency_key else None
        row = run(channel.send_message, actor, conversation_id=conversation_id, content=_content(body),
                  client_key=key, reply_to_message_id=reply_to)  # a key reused elsewhere: 422 idempotency_key_reused
        return s.SentMessage.model_validate(row)


def _contact_routes(app: FastAPI) -> None:
    @app.get("/contacts", response_model=s.ContactPage, tags=["contacts"], responses=ERRORS, summary="List contacts")
    def list_contacts(actor: ContactsRead,
                      q: Annotated[str | None, Query(max_length=200, description="Name, phone or e-mail.")] = None,
                      cursor: Annotated[str | None, Query(max_length=200)] = None,
                      limit: Annotated[int, Query(ge=1, le=100)] = 50) -> s.ContactPage:
        rows, next_cursor = run(conversations.list_contacts, actor, query=q, cursor=cursor, limit=limit)
        return s.ContactPage(data=[s.ContactSummary.model_validate(r) for r in rows], next_cursor=next_cursor)

    @app.get("/contacts/{contact_id}", response_model=s.Contact, tags=["contacts"], responses=ERRORS,
             summary="One contact")
    def get_contact(contact_id: int, actor: ContactsRead) -> s.Contact:
        return s.Contact.model_validate(run(conversations.get_contact, actor, contact_id=contact_id))

    @app.patch("/contacts/{contact_id}", response_model=s.Contact | s.ContactRef, tags=["contacts"],
               responses=_with(413), summary="Change a contact's name, e-mail or attributes",
               description="Answers with the contact in full with `contacts:read`, else only its id and name.")
    def update_contact(contact_id: int, body: s.ContactPatch, actor: ContactsWrite,
                       request: Request) -> s.Contact | s.ContactRef:
        changes = body.model_dump(exclude_unset=True)
        # A write-only token must not read contacts through the answer (an empty PATCH would be a read).
        return _contact(request, run(conversations.update_contact, actor, contact_id=contact_id, **changes))


def _user_routes(app: FastAPI) -> None:
    @app.get("/users", response_model=s.UserList, tags=["users"], responses=ERRORS,
             summary="Users of the tenant, with presence (admins and supervisors)")
    def list_users(actor: UsersRead) -> s.UserList:
        rows = run(access.list_users, actor)
        status = routing.statuses(actor.tenant_id)
        return s.UserList(data=[s.User(id=u.id, name=u.name, email=u.email, role=u.role, is_active=u.is_active,
                                       presence=status.get(u.id, "offline")) for u in rows])

    @app.get("/users/online", response_model=s.OnlineUserList, tags=["users"], responses=ERRORS,
             summary="Users online or away right now")
    def online_users(actor: UsersRead) -> s.OnlineUserList:
        return s.OnlineUserList(data=[s.OnlineUser.model_validate(r) for r in run(routing.online_users, actor)])


def _settings_view(views: list[Any]) -> s.SettingsView:
    return s.SettingsView(settings={v.key: s.Setting(
        value={"configured": v.configured} if v.secret else v.value, source=v.source, category=v.category,
        editable=v.editable, secret=v.secret) for v in views})


def _settings_routes(app: FastAPI) -> None:
    @app.get("/settings", response_model=s.SettingsView, tags=["settings"], responses=ERRORS,
             summary="Your tenant's settings: effective values and where each comes from (admins)")
    def get_settings_view(actor: SettingsRead) -> s.SettingsView:
        return _settings_view(run(settings.describe, actor, tenant_id=actor.tenant_id))

    @app.patch("/settings", response_model=s.SettingsView, tags=["settings"], responses=_with(413),
               summary="Change settings of your tenant, all or nothing (admins)",
               description="Every value is validated first; a 422 lists each bad key in `details` and changes "
                           "nothing. Each change is kept in the settings history with `reason`.")
    def patch_settings(body: s.SettingsPatch, actor: SettingsWrite) -> s.SettingsView:
        views = run(settings.change, actor, tenant_id=actor.tenant_id, changes=body.values, reason=body.reason)
        return _settings_view(views)


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(CRMError)
    async def crm_error(request: Request, exc: CRMError) -> JSONResponse:
        hint = WINDOW_HINT if isinstance(exc, channel.WindowClosed) else None
        headers = {"WWW-Authenticate": 'Bearer realm="api"'} if exc.status == 401 else None
        field = exc.params.get("field") if isinstance(exc, ValidationError) else None
        errors = exc.params.get("errors") if isinstance(exc, ValidationError) else None
        details = [{"field": field, "message": exc.message}] if field else None
        if isinstance(errors, dict) and errors:  # one detail per bad field (a settings change names each)
            details = [{"field": k, "message": str(m)} for k, m in errors.items()]
        return _error(exc.status, exc.code, exc.message, headers, hint=hint, details=details)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
                   for e in exc.errors()]
        return _error(422, "validation", "the request is not valid", details=details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error in the REST API")
        return _error(500, "internal", "something went wrong on our side; try again later")


class BodyLimit:
    """Refuse request bodies over `max_bytes` with 413, declared or streamed, before anything parses them."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = _error(413, "too_large", f"the body must be at most {self.max_bytes // 1024} KB")
        await response(scope, receive, send)


class _TooLarge(StarletteHTTPException):
    """Raised from `receive` so that FastAPI's body parsing passes it on instead of answering 400."""

    def __init__(self) -> None:
        super().__init__(413, f"the body must be at most {MAX_BODY_BYTES // 1024} KB")


def create_v1(*, rate_limit_per_minute: int | None = None) -> FastAPI:
    """The v1 app; mount it at `PREFIX`."""
    app = FastAPI(title="Atende CRM API", version="1.0.0", description=DESCRIPTION, openapi_url="/openapi.json",
                  docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
                  servers=[{"url": PREFIX}], root_path_in_servers=False)
    app.state.rate_limit_per_minute = rate_limit_per_minute  # None: the setting, read per request (cached)
    _conversation_routes(app)
    _message_routes(app)
    _contact_routes(app)
    _user_routes(app)
    _settings_routes(app)
    webhook_routes(app, scoped=scoped, run=run, errors=ERRORS)
    v1_privacy.privacy_routes(app, scoped, ERRORS)
    v1_metrics.add_routes(app, reader=scoped(access.scope("metrics")), run=run, errors=ERRORS)
    v1_csat.add_routes(app, scoped=scoped, run=run, errors=ERRORS)
    v1_exports.add_routes(app, scoped=scoped, run=run, errors=ERRORS, require_read=require_read)
    v1_sla.add_routes(app, scoped=scoped, run=run, errors=ERRORS)
    v1_sla_metrics.add_routes(app, scoped=scoped, run=run, errors=ERRORS)
    _error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=get_settings().api_max_body_bytes)
    return app


def docs_endpoint(app: FastAPI) -> Callable[[Request], Any]:
    """The `/api/docs` route: the self-contained HTML docs of `app`, rendered once."""
    page: list[str] = []

    async def docs(request: Request) -> HTMLResponse:
        if not page:
            page.append(v1_docs.render_docs(app.openapi(), base_path=PREFIX))
        return HTMLResponse(page[0], headers={"Content-Security-Policy": v1_docs.CSP,
                                              "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})

    return docs
