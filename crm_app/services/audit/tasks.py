"""The audit trail's periodic work, each in its own session: sealing, anchoring, the daily verification."""

from __future__ import annotations

from crm_app.db import session_scope, utcnow
from crm_app.services.audit import anchors, chain, verify


def seal_audit_chains() -> int:
    """Chain every unsealed entry (every few seconds); idempotent. Returns how many were sealed."""
    with session_scope() as session:
        return chain.seal_pending(session)


def anchor_audit_chains() -> int:
    """Seal, then write today's anchor of every chain outside the database (daily); idempotent per day."""
    with session_scope() as session:
        chain.seal_pending(session)
        return anchors.write_anchors(session, now=utcnow())


def verify_audit_chains() -> int:
    """Check every chain and record the outcome in each (daily); returns how many chains are broken."""
    with session_scope() as session:
        reports = verify.verify_all(session, now=utcnow())
        for report in reports:
            verify.record_result(session, report, actor=None)
        return sum(not r.ok for r in reports)


def verify_audit_chain(tenant_id: int, user_id: int | None, ip: str | None, token: str) -> bool | None:
    """The Verificar integridade button's check of one chain (bulk queue); idempotent per request token.

    Returns:
        Whether the chain is intact; None when the request was already answered.
    """
    with session_scope() as session:
        done = verify.run_requested(session, tenant_id, user_id, ip, token, now=utcnow())
        return None if done is None else done.ok
