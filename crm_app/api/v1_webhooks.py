"""REST API v1 routes of outgoing webhooks (`webhooks:read` / `webhooks:write`; the token's user must be an admin)."""

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from crm_app.domain import webhooks as rules
from crm_app.services import access, webhooks
from crm_app.services.core.actors import Actor


class Endpoint(BaseModel):
    """A webhook endpoint (never its secret; custom header values masked)."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    url: str
    description: str
    event_types: list[str] = Field(description="Empty: every event type.")
    enabled: bool
    headers: dict[str, str]
    timeout_seconds: int
    rate_limit_per_second: int | None
    disabled_reason: Literal["gone", "failing"] | None = Field(
        description="`gone`: it answered 410; `failing`: every attempt failed for 5 days.")
    rotating_until: dt.datetime | None = Field(description="Until when the previous secret still signs too.")
    created_at: dt.datetime


class EndpointWithSecret(BaseModel):
    """An endpoint just created or rotated, with its secret: shown this once."""

    endpoint: Endpoint
    secret: str = Field(description="`whsec_…`: verify our `webhook-signature` with it (Standard Webhooks).")


class EndpointIn(BaseModel):
    """A new endpoint."""

    model_config = ConfigDict(extra="forbid")
    url: AnyHttpUrl
    description: str = Field(default="", max_length=255)
    event_types: list[str] = Field(default_factory=list, max_length=50)
    enabled: bool = True
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: int = Field(default=15, ge=1, le=30)
    rate_limit_per_second: int | None = Field(default=None, ge=1, le=1000)


class EndpointPatch(BaseModel):
    """Fields to change; those left out stay."""

    model_config = ConfigDict(extra="forbid")
    url: AnyHttpUrl | None = None
    description: str | None = Field(default=None, max_length=255)
    event_types: list[str] | None = Field(default=None, max_length=50)
    enabled: bool | None = None
    headers: dict[str, str] | None = None
    timeout_seconds: int | None = Field(default=None, ge=1, le=30)
    rate_limit_per_second: int | None = Field(default=None, ge=1, le=1000)


class EventType(BaseModel):
    name: str
    description: str
    schema_: dict[str, Any] = Field(alias="schema", serialization_alias="schema")
    example: dict[str, Any]


class Delivery(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    event_type: str
    msg_id: str = Field(description="The `webhook-id` header: the same on every attempt.")
    status: Literal["pending", "sending", "succeeded", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    completed_at: dt.datetime | None


class Attempt(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    attempted_at: dt.datetime
    status_code: int | None
    duration_ms: int
    request_headers: dict[str, Any]
    response_body: str = Field(description="The first 4 KB of the answer.")
    error: str | None


class Stats(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    attempts: int
    success_rate: float | None
    p95_ms: float | None


class Replay(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: dt.datetime
    until: dt.datetime | None = None


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def webhook_routes(app: FastAPI, *, scoped: Callable[[str], Callable[..., Actor]], run: Callable[..., Any],
                   errors: dict[int | str, dict[str, Any]]) -> None:
    """Add the /webhooks routes to `app` (the v1 app hands over its auth dependency and runner)."""
    read = Annotated[Actor, Depends(scoped(access.scope("webhooks")))]
    write = Annotated[Actor, Depends(scoped(access.scope("webhooks", write=True)))]
    tags = ["webhooks"]

    @app.get("/webhooks/event-types", response_model=list[EventType], tags=tags, responses=errors,
             summary="Every event type, with the JSON Schema of its payload and an example")
    def event_types(actor: read) -> list[dict[str, Any]]:
        types = [*rules.EVENT_TYPES.values(), rules.PING_TYPE]
        return [{"name": t.name, "description": t.description, "schema": t.schema(),
                 "example": {"type": t.name, "timestamp": "2026-01-01T12:00:00Z", "data": t.example}} for t in types]

    @app.get("/webhooks", response_model=list[Endpoint], tags=tags, responses=errors, summary="Your endpoints")
    def list_endpoints(actor: read) -> list[Any]:
        return run(webhooks.list_endpoints, actor)

    @app.post("/webhooks", response_model=EndpointWithSecret, status_code=201, tags=tags, responses=errors,
              summary="Add an endpoint; its secret is in this answer only")
    def create(body: EndpointIn, actor: write) -> EndpointWithSecret:
        values = body.model_dump()
        values["url"] = str(body.url)
        view, secret = run(webhooks.create_endpoint, actor, **values)
        return EndpointWithSecret(endpoint=Endpoint.model_validate(view), secret=secret)

    @app.get("/webhooks/{endpoint_id}", response_model=Endpoint, tags=tags, responses=errors, summary="One endpoint")
    def get(endpoint_id: int, actor: read) -> Any:
        return run(webhooks.get_endpoint, actor, endpoint_id=endpoint_id)

    @app.patch("/webhooks/{endpoint_id}", response_model=Endpoint, tags=tags, responses=errors,
               summary="Change an endpoint (enabling a disabled one sends what waited)")
    def update(endpoint_id: int, body: EndpointPatch, actor: write) -> Any:
        changes = body.model_dump(exclude_unset=True)
        if "url" in changes:
            changes["url"] = str(body.url)
        return run(webhooks.update_endpoint, actor, endpoint_id=endpoint_id, **changes)

    @app.delete("/webhooks/{endpoint_id}", status_code=204, tags=tags, responses=errors, summary="Remove an endpoint")
    def delete(endpoint_id: int, actor: write) -> None:
        run(webhooks.delete_endpoint, actor, endpoint_id=endpoint_id)

    @app.post("/webhooks/{endpoint_id}/rotate-secret", response_model=EndpointWithSecret, tags=tags,
              responses=errors, summary="A new secret; the old one keeps signing for 24 hours")
    def rotate(endpoint_id: int, actor: write) -> EndpointWithSecret:
        view, secret = run(webhooks.rotate_secret, actor, endpoint_id=endpoint_id)
        return EndpointWithSecret(endpoint=Endpoint.model_validate(view), secret=secret)

    @app.post("/webhooks/{endpoint_id}/test", tags=tags, responses=errors, status_code=202,
              summary="Send a `ping` event to this endpoint")
    def test(endpoint_id: int, actor: write) -> dict[str, int]:
        return {"delivery_id": run(webhooks.send_test, actor, endpoint_id=endpoint_id)}

    @app.get("/webhooks/{endpoint_id}/stats", response_model=Stats, tags=tags, responses=errors,
             summary="Success rate and p95 duration over the last day")
    def stats(endpoint_id: int, actor: read) -> Any:
        return run(webhooks.endpoint_stats, actor, endpoint_id=endpoint_id)

    @app.get("/webhooks/{endpoint_id}/deliveries", response_model=list[Delivery], tags=tags, responses=errors,
             summary="The delivery log, newest first (50 a page)")
    def deliveries(endpoint_id: int, actor: read,
                   status: Annotated[Literal["pending", "sending", "succeeded", "failed"] | None, Query()] = None,
                   before_id: Annotated[int | None, Query(ge=1)] = None) -> Any:
        return run(webhooks.list_deliveries, actor, endpoint_id=endpoint_id, status=status, before_id=before_id)

    @app.get("/webhooks/deliveries/{delivery_id}/attempts", response_model=list[Attempt], tags=tags,
             responses=errors, summary="Every attempt of one delivery")
    def attempts(delivery_id: int, actor: read) -> Any:
        return run(webhooks.list_attempts, actor, delivery_id=delivery_id)

    @app.post("/webhooks/deliveries/{delivery_id}/resend", response_model=Delivery, tags=tags, responses=errors,
              summary="Send one finished delivery again (same webhook-id)")
    def resend(delivery_id: int, actor: write) -> Any:
        return run(webhooks.resend_delivery, actor, delivery_id=delivery_id)

    @app.post("/webhooks/{endpoint_id}/replay", tags=tags, responses=errors, status_code=202,
              summary="Send every event of a period again")
    def replay(endpoint_id: int, body: Replay, actor: write) -> dict[str, int]:
        count = run(webhooks.replay, actor, endpoint_id=endpoint_id, since=_aware(body.since),
                    until=_aware(body.until))
        return {"queued": count}
