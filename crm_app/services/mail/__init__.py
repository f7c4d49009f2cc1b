"""E-mail: templates in both languages, a log row per e-mail written in the caller's transaction, and the job
that sends it over SMTP (the `mail.*` settings of the tenant) with retries."""

from crm_app.services.mail.outbox import (
    EmailPage,
    EmailRow,
    can_send,
    deliver_email,
    email_page,
    list_emails,
    queue_email,
    queue_notification,
    resend_email,
    send_test_email,
    sweep_queued_emails,
)
from crm_app.services.mail.smtp_settings import KEYS as SMTP_KEYS
from crm_app.services.mail.smtp_settings import SmtpRefused, SmtpView, seed_demo
from crm_app.services.mail.smtp_settings import reset as reset_smtp
from crm_app.services.mail.smtp_settings import save as save_smtp

__all__ = ["SMTP_KEYS", "EmailPage", "EmailRow", "SmtpRefused", "SmtpView", "can_send", "deliver_email",
           "email_page", "list_emails", "queue_email", "queue_notification", "resend_email", "reset_smtp",
           "save_smtp", "seed_demo", "send_test_email", "sweep_queued_emails"]
