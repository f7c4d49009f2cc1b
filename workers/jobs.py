"""RQ jobs: importable, context-free, ids only, idempotent.

Each function here has one entry in `crm_app.services.core.jobs` (its queue, id rule, timeout and
retry policy); that registry is the only place that names them.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import delete

from crm_app.db import session_scope, utcnow
from crm_app.models import UserSession

EXPIRED_SESSION_RETENTION = dt.timedelta(days=7)


def purge_expired_sessions() -> int:
    """Delete sessions that ended more than a week ago. Returns how many."""
    cutoff = utcnow() - EXPIRED_SESSION_RETENTION
    with session_scope() as session:
        result = session.exec(delete(UserSession).where(UserSession.expires_at < cutoff))
        revoked = session.exec(delete(UserSession).where(UserSession.revoked_at < cutoff))
    return (result.rowcount or 0) + (revoked.rowcount or 0)


def process_inbound_event(event_id: int) -> str:
    """Apply one stored webhook (idempotent: a processed event is skipped)."""
    from crm_app.services import channel

    return channel.process_inbound_event(event_id)


def drain_inbound_events(slot: int) -> str:
    """Apply pending webhooks, oldest first, until none is left (one job per burst, not per webhook)."""
    from crm_app.services import channel

    return channel.drain_inbound_events(slot)


def sweep_inbound_events() -> int:
    """Re-enqueue webhooks that were stored but never processed (Redis down, worker killed)."""
    from crm_app.services import channel

    return channel.sweep_inbound_events()


def wake_snoozed() -> int:
    """Reopen snoozed conversations whose time has come."""
    from crm_app.services import inbox

    return inbox.wake_snoozed()


def send_outbound_message(message_id: int) -> str:
    """Deliver one queued message through the Graph API, in its conversation's order (idempotent: sends once)."""
    from crm_app.services import channel

    return channel.deliver_message(message_id)


def sweep_queued_messages() -> int:
    """Re-enqueue outbound messages whose delivery job was lost; free conversations a dead worker held."""
    from crm_app.services import channel

    return channel.sweep_queued_messages()


def download_media(message_id: int) -> str:
    """Fetch an inbound message's file from Meta into media storage."""
    from crm_app.services import channel

    return channel.download_inbound_media(message_id)


def sync_templates(inbox_id: int) -> int:
    """Mirror one inbox's WhatsApp templates."""
    from crm_app.services import channel

    return channel.sync_inbox_templates(inbox_id)


def sync_all_templates() -> int:
    """Queue a template sync for every active inbox."""
    from crm_app.services import channel

    return channel.enqueue_all_syncs()


def send_read_receipt(message_id: int, typing: bool = False) -> bool:
    """Tell WhatsApp a customer message was read (and optionally show typing)."""
    from crm_app.services import channel

    return channel.send_read_receipt(message_id, typing)


def sweep_pending_media() -> int:
    """Queue inbound media downloads that never finished."""
    from crm_app.services import channel

    return channel.sweep_pending_media()


def assign_waiting(tenant_id: int) -> int:
    """Give a tenant's waiting conversations to free attendants (after presence, close, transfer)."""
    from crm_app.services import routing

    return routing.assign_waiting(tenant_id)


def assign_waiting_all() -> int:
    """The periodic sweep of every tenant's waiting queue (a lost trigger is caught up here)."""
    from crm_app.services import routing

    return routing.assign_waiting_all()


def run_bot_turn(conversation_id: int, message_id: int | None = None) -> str:
    """One debounced bot turn (a newer customer message's job does it instead); idempotent."""
    from crm_app.services import bot

    return bot.run_turn(conversation_id, message_id)


def sweep_bot_turns() -> int:
    """Queue bot turns whose delayed job was lost (Redis dropped it, a worker died)."""
    from crm_app.services import bot

    return bot.sweep_bot_turns()


def expire_bot_sessions() -> int:
    """Close conversations whose customer stopped answering the bot (inactivity timeout)."""
    from crm_app.services import bot

    return bot.expire_bot_sessions()


def send_email(email_id: int) -> str:
    """Send one queued e-mail over SMTP (idempotent: a sent one is never sent again)."""
    from crm_app.services import mail

    return mail.deliver_email(email_id)


def refresh_analytics() -> int:
    """Rebuild every tenant's analytics rollups of yesterday and today (local days)."""
    from crm_app.services.analytics import rollups

    return rollups.refresh_recent()


def evaluate_sla(conversation_id: int) -> str:
    """Bring one conversation's SLA clocks, deadline, warnings and escalation up to now (idempotent)."""
    from crm_app.services.sla import tracking

    return tracking.evaluate(conversation_id)


def sweep_sla() -> int:
    """Evaluate the conversations whose SLA deadline, warning or escalation step has come."""
    from crm_app.services.sla import tracking

    return tracking.sweep()


def restate_analytics(conversation_id: int) -> int:
    """Rebuild the stored analytics days of a conversation that changed hands (idempotent)."""
    from crm_app.services.analytics import rollups

    return rollups.restate_conversation(conversation_id)


def sweep_queued_emails() -> int:
    """Queue again the e-mails whose job was lost."""
    from crm_app.services import mail

    return mail.sweep_queued_emails()


def relay_webhook_events() -> int:
    """Fan committed webhook events out to their endpoints' deliveries."""
    from crm_app.services import webhooks

    return webhooks.relay_events()


def deliver_webhooks(endpoint_id: int) -> str:
    """Send one endpoint's due webhook deliveries (a batch at a time, concurrently)."""
    from crm_app.services import webhooks

    return webhooks.deliver(endpoint_id)


def sweep_webhooks() -> int:
    """Take back interrupted webhook attempts, relay forgotten events, wake endpoints with due deliveries."""
    from crm_app.services import webhooks

    return webhooks.sweep()


def apply_opt_out(message_id: int) -> str:
    """A customer's opt-out word: withdraw marketing consent once and confirm it."""
    from crm_app.services.compliance import consent

    return consent.apply_opt_out(message_id)


def generate_dpo_reports() -> int:
    """Make last month's DPO report of every tenant that has none yet."""
    from crm_app.services.compliance import report

    return report.generate_due_reports()


def sweep_opt_outs() -> int:
    """Record the opt-outs (words and Meta's 131050) whose job was lost."""
    from crm_app.services.compliance import consent

    return consent.sweep_opt_outs()


def apply_meta_opt_out(message_id: int) -> str:
    """Meta's 131050 on a message: withdraw the contact's marketing consent once."""
    from crm_app.services.compliance import consent

    return consent.apply_meta_opt_out(message_id)


def run_privacy_request(request_id: int) -> str:
    """Run or resume a data-subject request's job (access bundle or erasure)."""
    from crm_app.services.compliance import requests

    return requests.run_request(request_id)


def resume_privacy_requests() -> int:
    """Queue again the access and erasure requests whose job died midway (periodic)."""
    from crm_app.services.compliance import requests

    return requests.resume_stalled_requests()


def apply_retention() -> int:
    """Apply every tenant's retention policies, in batches (nightly)."""
    from crm_app.services.compliance import retention

    return retention.apply_retention()


def seal_audit_chains() -> int:
    """Chain the audit entries written since the last run."""
    from crm_app.services.audit import tasks

    return tasks.seal_audit_chains()


def anchor_audit_chains() -> int:
    """Write each audit chain's newest hash outside the database."""
    from crm_app.services.audit import tasks

    return tasks.anchor_audit_chains()


def verify_audit_chains() -> int:
    """Check every audit chain and its anchors."""
    from crm_app.services.audit import tasks

    return tasks.verify_audit_chains()


def verify_audit_chain(tenant_id: int, user_id: int | None, ip: str | None, token: str) -> bool | None:
    """Check one tenant's audit chain for the Verificar integridade button."""
    from crm_app.services.audit import tasks

    return tasks.verify_audit_chain(tenant_id, user_id, ip, token)


def run_export(export_id: int) -> str:
    """Write one analytics export's file (CSV or XLSX), streaming the rows in batches."""
    from crm_app.services.exports import run

    return run.run_export(export_id)


def sweep_exports() -> int:
    """Run again the exports whose job died; delete the files of expired ones."""
    from crm_app.services.exports import run

    return run.sweep()
