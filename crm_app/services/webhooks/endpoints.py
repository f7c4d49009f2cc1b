"""Webhook endpoints of a tenant (admins): create, change, rotate the secret, send a test ping, remove.

The URL passes the outbound-URL policy when saved (and the transport checks the connected address again at
every request). The secret is shown once, when made or rotated; a rotation keeps the previous secret signing
too for 24 hours, so a receiver can switch without missing a request.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from crm_app.db import after_commit, utcnow
from crm_app.domain import webhooks as rules
from crm_app.errors import ValidationError
from crm_app.integrations import outbound_urls
from crm_app.models import DeliveryStatus, Role, WebhookDelivery, WebhookEndpoint, WebhookEvent
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor, fetch_owned, require_role
from crm_app.services.webhooks import outbox

MAX_ENDPOINTS = 20
MIN_TIMEOUT, MAX_TIMEOUT = 1, 30
MAX_RATE = 1000


@dataclass(frozen=True)
class EndpointView:
    """An endpoint as pages and the API show it: never its secret, custom header values masked."""

    id: int
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    headers: dict[str, str]
    timeout_seconds: int
    rate_limit_per_second: int | None
    disabled_reason: str | None
    rotating_until: dt.datetime | None
    created_at: dt.datetime


def view_of(endpoint: WebhookEndpoint) -> EndpointView:
    """The DTO of `endpoint`."""
    headers = {name: rules.MASKED for name in json.loads(endpoint.headers_json or "{}")}
    rotating = endpoint.previous_secret_until if endpoint.previous_secret_until and \
        endpoint.previous_secret_until > utcnow() else None
    return EndpointView(endpoint.id, endpoint.url, endpoint.description, list(endpoint.event_types), endpoint.enabled,
                        headers, endpoint.timeout_seconds, endpoint.rate_limit_per_second, endpoint.disabled_reason,
                        rotating, endpoint.created_at)


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """Validate the fields present in `values`; ValidationError names the first bad one."""
    out: dict[str, Any] = {}
    if "url" in values:
        try:
            out["url"] = outbound_urls.check_url(str(values["url"] or ""))
        except outbound_urls.UrlNotAllowed as exc:
            raise ValidationError(str(exc), field="url") from None
    if "description" in values:
        out["description"] = str(values["description"] or "").strip()[:255]
    if "event_types" in values:
        types = list(dict.fromkeys(values["event_types"] or []))
        unknown = [t for t in types if not rules.is_event_type(t)]
        if unknown:
            raise ValidationError(f"unknown event type: {', '.join(unknown)}", field="event_types")
        out["event_types"] = types
    if "timeout_seconds" in values:
        timeout = values["timeout_seconds"]
        if not isinstance(timeout, int) or not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
            raise ValidationError("the timeout must be 1 to 30 seconds", field="timeout_seconds")
        out["timeout_seconds"] = timeout
    if "rate_limit_per_second" in values:
        rate = values["rate_limit_per_second"]
        if rate is not None and (not isinstance(rate, int) or not 1 <= rate <= MAX_RATE):
            raise ValidationError("the rate limit must be 1 to 1000 requests a second, or none",
                                  field="rate_limit_per_second")
        out["rate_limit_per_second"] = rate
    if "headers" in values:
        try:
            out["headers_json"] = json.dumps(rules.clean_headers(values["headers"]))
        except ValueError as exc:
            raise ValidationError(str(exc), field="headers") from None
    if "enabled" in values:
        out["enabled"] = bool(values["enabled"])
    return out


def list_endpoints(session: Session, *, actor: Actor) -> list[EndpointView]:
    """The tenant's endpoints, oldest first (admins)."""
    require_role(actor, Role.ADMIN)
    rows = session.exec(select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == actor.tenant_id)
                        .order_by(WebhookEndpoint.id)).all()
    return [view_of(e) for e in rows]


def access_endpoint(session: Session, *, actor: Actor, endpoint_id: int) -> WebhookEndpoint:
    """The endpoint, if it is the actor's tenant's and the actor is an admin (NotFound otherwise)."""
    require_role(actor, Role.ADMIN)
    return fetch_owned(session, WebhookEndpoint, endpoint_id, actor=actor, what="webhook endpoint")


def get_endpoint(session: Session, *, actor: Actor, endpoint_id: int) -> EndpointView:
    """One endpoint (admins)."""
    return view_of(access_endpoint(session, actor=actor, endpoint_id=endpoint_id))


def create_endpoint(session: Session, *, actor: Actor, url: str, description: str = "",
                    event_types: list[str] | None = None, headers: dict[str, str] | None = None,
                    timeout_seconds: int = 15, rate_limit_per_second: int | None = None,
                    enabled: bool = True) -> tuple[EndpointView, str]:
    """Add an endpoint; returns it and its secret, which is never shown again."""
    require_role(actor, Role.ADMIN)
    values = _clean({"url": url, "description": description, "event_types": event_types or [],
                     "headers": headers or {}, "timeout_seconds": timeout_seconds,
                     "rate_limit_per_second": rate_limit_per_second, "enabled": enabled})
    count = len(session.exec(select(WebhookEndpoint.id).where(WebhookEndpoint.tenant_id == actor.tenant_id)).all())
    if count >= MAX_ENDPOINTS:
        raise ValidationError(f"at most {MAX_ENDPOINTS} webhook endpoints", field="url")
    secret = rules.new_secret()
    endpoint = WebhookEndpoint(tenant_id=actor.tenant_id, secret=secret, **values)
    session.add(endpoint)
    session.flush()
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="webhook.create",
                 target_type="webhook_endpoint", target_id=endpoint.id, after=_audited(endpoint))
    return view_of(endpoint), secret


def _audited(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"url": endpoint.url, "event_types": list(endpoint.event_types), "enabled": endpoint.enabled,
            "timeout_seconds": endpoint.timeout_seconds, "rate_limit_per_second": endpoint.rate_limit_per_second}


def update_endpoint(session: Session, *, actor: Actor, endpoint_id: int, **changes: Any) -> EndpointView:
    """Change some fields; enabling a disabled endpoint clears why it was off and wakes its waiting deliveries."""
    endpoint = access_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    session.refresh(endpoint, with_for_update=True)
    values = _clean(changes)
    before = _audited(endpoint)
    if values.get("enabled") and not endpoint.enabled:
        endpoint.disabled_reason, endpoint.failing_since = None, None
        after_commit(session, lambda: outbox.kick_drain(endpoint_id))
    for name, value in values.items():
        setattr(endpoint, name, value)
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="webhook.update",
                 target_type="webhook_endpoint", target_id=endpoint.id, before=before, after=_audited(endpoint))
    return view_of(endpoint)


def delete_endpoint(session: Session, *, actor: Actor, endpoint_id: int) -> None:
    """Remove an endpoint with its deliveries and log."""
    endpoint = access_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="webhook.delete",
                 target_type="webhook_endpoint", target_id=endpoint.id, before=_audited(endpoint))
    session.delete(endpoint)


def rotate_secret(session: Session, *, actor: Actor, endpoint_id: int) -> tuple[EndpointView, str]:
    """A new secret, shown once; the old one keeps signing (both signatures sent) for 24 hours."""
    endpoint = access_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    session.refresh(endpoint, with_for_update=True)
    secret = rules.new_secret()
    endpoint.previous_secret, endpoint.previous_secret_until = endpoint.secret, utcnow() + rules.ROTATION_OVERLAP
    endpoint.secret, endpoint.updated_at = secret, utcnow()
    session.add(endpoint)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="webhook.rotate_secret",
                 target_type="webhook_endpoint", target_id=endpoint.id)
    return view_of(endpoint), secret


def send_test(session: Session, *, actor: Actor, endpoint_id: int) -> int:
    """Testar: a `ping` event to this endpoint only, delivered like any other. Returns the delivery's id."""
    endpoint = access_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    now = utcnow()
    event = WebhookEvent(tenant_id=actor.tenant_id, msg_id=outbox.new_msg_id(), event_type=rules.PING,
                         payload=outbox.payload_of(rules.PING, {"endpoint_id": endpoint.id}, now), created_at=now,
                         relayed_at=now)
    session.add(event)
    session.flush()
    outbox.insert_deliveries(session, [{"tenant_id": actor.tenant_id, "endpoint_id": endpoint.id, "event_id": event.id,
                                        "status": DeliveryStatus.PENDING, "attempts": 0, "next_attempt_at": now,
                                        "created_at": now}])
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="webhook.test",
                 target_type="webhook_endpoint", target_id=endpoint.id)
    after_commit(session, lambda: outbox.kick_drain(endpoint_id))

    return session.exec(select(WebhookDelivery.id).where(WebhookDelivery.event_id == event.id)).one()
