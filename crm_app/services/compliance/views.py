"""Read models of the Conformidade pages: the overview in one call."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from crm_app.services.compliance import consent, holds, requests, retention
from crm_app.services.core.actors import Actor, require_role


@dataclass(frozen=True)
class Overview:
    """Requests by status with the ones due soon, consent counts per purpose, retention policies, legal holds."""

    by_status: dict[str, int]
    due_soon: list[requests.RequestRow]
    consents: dict[str, dict[str, int]]
    policies: list[retention.PolicyRow]
    holds: list[holds.HoldRow]


def overview(session: Session, *, actor: Actor) -> Overview:
    """Everything the /compliance overview shows, for an admin or the DPO of the tenant."""
    require_role(actor, *consent.PRIVACY_ROLES)
    rows = requests.list_requests(session, actor=actor)
    by_status: dict[str, int] = {}
    for row in rows:
        by_status[row.status] = by_status.get(row.status, 0) + 1
    return Overview(by_status, [r for r in rows if r.due_soon][:10], consent.counts_by_purpose(session, actor=actor),
                    retention.list_policies(session, actor=actor), holds.list_holds(session, actor=actor))
