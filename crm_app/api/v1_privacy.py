"""REST API v1, privacy area: data-subject requests, consents and legal holds (`privacy:read|write`).

The token's user must be an admin or the DPO of the tenant (the services check it); the routes call the same
services as the Conformidade pages.
"""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from crm_app.services import access, compliance, transaction
from crm_app.services.core.actors import Actor


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PrivacyRequestOut(_Out):
    id: int
    contact_id: int
    contact_name: str | None
    kind: str
    status: str
    due_on: dt.date
    due_soon: bool = Field(description="Pending and due within 3 days (or overdue).")
    overdue: bool
    assignee_id: int | None
    progress: dict[str, Any] = Field(description="The job's position: step, done and total.")
    log: list[dict[str, Any]]
    error: str | None
    has_bundle: bool
    created_at: dt.datetime
    completed_at: dt.datetime | None


class PrivacyRequestList(BaseModel):
    data: list[PrivacyRequestOut]


class PrivacyRequestIn(_In):
    contact_id: int
    kind: Literal["access", "correction", "erasure", "consent_withdrawal"]
    details: Annotated[str, Field(max_length=2000)] = ""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"contact_id": 42, "kind": "erasure"}]})


class RequestUpdate(_In):
    assignee_id: int | None = None
    status: Literal["done", "rejected"] | None = None


class DownloadLink(BaseModel):
    url: str
    expires_in_seconds: int


class ConsentOut(_Out):
    id: int
    purpose: str
    granted: bool
    legal_basis: str
    source: str
    policy_version: str
    proof: str
    created_at: dt.datetime


class ConsentList(BaseModel):
    data: list[ConsentOut]


class ConsentIn(_In):
    purpose: Literal["atendimento", "marketing", "pesquisa"]
    granted: bool
    legal_basis: Literal["consent", "contract", "legitimate_interest", "legal_obligation"] = "consent"


class HoldIn(_In):
    contact_id: int
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class HoldOut(_Out):
    id: int
    contact_id: int
    contact_name: str | None
    reason: str
    created_at: dt.datetime


def privacy_routes(app: FastAPI, scoped, errors: dict) -> None:
    """Add the privacy routes to the v1 app; `scoped(scope)` is its token dependency."""
    read = Annotated[Actor, Depends(scoped(access.scope("privacy")))]
    write = Annotated[Actor, Depends(scoped(access.scope("privacy", write=True)))]
    conflict = {**errors, 409: {**errors[404], "description": "Legal hold, already erased, or not ready."}}

    def run(fn, actor: Actor, **kwargs):
        with transaction() as session:
            return fn(session, actor=actor, **kwargs)

    @app.get("/privacy/requests", response_model=PrivacyRequestList, tags=["privacy"], responses=errors,
             summary="Data-subject requests, soonest due first")
    def list_requests(actor: read, status: Annotated[str | None, Query(max_length=20)] = None) -> PrivacyRequestList:
        rows = run(compliance.list_requests, actor, status=status)
        return PrivacyRequestList(data=[PrivacyRequestOut.model_validate(r) for r in rows])

    @app.post("/privacy/requests", response_model=PrivacyRequestOut, status_code=201, tags=["privacy"],
              responses=conflict, summary="Record a data-subject request",
              description="`access` builds a ZIP bundle and `erasure` erases the person, both as background jobs "
                          "(poll the request's `status` and `progress`); `consent_withdrawal` is applied at "
                          "once; `correction` stays open until closed. 409 for a contact under legal hold or "
                          "already erased.")
    def create_request(body: PrivacyRequestIn, actor: write) -> PrivacyRequestOut:
        return PrivacyRequestOut.model_validate(run(compliance.create_request, actor, **body.model_dump()))

    @app.get("/privacy/requests/{request_id}", response_model=PrivacyRequestOut, tags=["privacy"],
             responses=errors, summary="One request, with its progress and log")
    def get_request(request_id: int, actor: read) -> PrivacyRequestOut:
        return PrivacyRequestOut.model_validate(run(compliance.get_request, actor, request_id=request_id))

    @app.patch("/privacy/requests/{request_id}", response_model=PrivacyRequestOut, tags=["privacy"],
               responses=conflict, summary="Assign a request, or close a manual one as done or rejected")
    def update_request(request_id: int, body: RequestUpdate, actor: write) -> PrivacyRequestOut:
        row = None
        if "assignee_id" in body.model_fields_set:
            row = run(compliance.assign_request, actor, request_id=request_id, user_id=body.assignee_id)
        if body.status:
            row = run(compliance.complete_request, actor, request_id=request_id, rejected=body.status == "rejected")
        return PrivacyRequestOut.model_validate(row or run(compliance.get_request, actor, request_id=request_id))

    @app.post("/privacy/requests/{request_id}/download_link", response_model=DownloadLink, tags=["privacy"],
              responses=conflict, summary="A one-day link to an access request's ZIP bundle")
    def download_link(request_id: int, actor: write) -> DownloadLink:
        token = run(compliance.create_download_link, actor, request_id=request_id)
        return DownloadLink(url=f"/api/v1/privacy/bundles/{token}",
                            expires_in_seconds=compliance.DOWNLOAD_HOURS * 3600)

    @app.get("/privacy/bundles/{token}", tags=["privacy"], responses=errors, response_class=Response,
             summary="Download a bundle by its link (the manifest's SHA-256 hashes are signed by the tenant's key)")
    def download(token: str, actor: read) -> Response:
        data, name = run(compliance.read_download, actor, token=token)
        return Response(data, media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})

    @app.get("/privacy/contacts/{contact_id}/consents", response_model=ConsentList, tags=["privacy"],
             responses=errors, summary="A contact's consent ledger, oldest first")
    def consents(contact_id: int, actor: read) -> ConsentList:
        rows = run(compliance.list_consents, actor, contact_id=contact_id)
        return ConsentList(data=[ConsentOut.model_validate(r) for r in rows])

    @app.post("/privacy/contacts/{contact_id}/consents", response_model=ConsentOut, status_code=201,
              tags=["privacy"], responses=errors, summary="Record a consent given or withdrawn outside WhatsApp")
    def add_consent(contact_id: int, body: ConsentIn, actor: write) -> ConsentOut:
        row = run(compliance.set_consent, actor, contact_id=contact_id, source="api", **body.model_dump())
        return ConsentOut.model_validate(row)

    @app.post("/privacy/holds", response_model=HoldOut, status_code=201, tags=["privacy"], responses=conflict,
              summary="Put a contact under legal hold (erasure and retention skip it)")
    def place_hold(body: HoldIn, actor: write) -> HoldOut:
        return HoldOut.model_validate(run(compliance.place_hold, actor, **body.model_dump()))

    @app.delete("/privacy/holds/{hold_id}", status_code=204, tags=["privacy"], responses=errors,
                summary="Release a legal hold")
    def release_hold(hold_id: int, actor: write) -> Response:
        run(compliance.release_hold, actor, hold_id=hold_id)
        return Response(status_code=204)
