"""E-mail: templates in both languages, a log row per e-mail written in the caller's transaction, and the job
that sends it over SMTP (the `mail.*` settings of the tenant) with retries."""

from crm_app.services.mail.outbox import (
    EmailRow,
    deliver_email,
    list_emails,
    queue_email,
    resend_email,
    send_test_email,
    sweep_queued_emails,
)
from crm_app.services.mail.smtp_settings import SmtpRefused, SmtpView

__all__ = ["EmailRow", "SmtpRefused", "SmtpView", "deliver_email", "list_emails", "queue_email", "resend_email",
           "send_test_email", "sweep_queued_emails"]
