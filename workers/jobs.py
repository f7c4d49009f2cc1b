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


def sweep_queued_emails() -> int:
    """Queue again the e-mails whose job was lost."""
    from crm_app.services import mail

    return mail.sweep_queued_emails()
