"""The fake Meta's configuration: one business number, its account and secrets."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_app.config import get_settings


def _settings():
    return get_settings()


@dataclass
class SandboxConfig:
    """Everything the fake Graph API and webhook sender need.

    Every field defaults from the app settings (the demo tenant's inbox), so
    `SandboxConfig(webhook_url=..., rate_limit_per_second=5)` is enough in tests.

    Attributes:
        phone_number_id: The business phone number's Graph id.
        waba_id: The WhatsApp Business Account id (`entry[].id` in webhooks).
        display_number: The business number as shown to people.
        access_token: The only bearer token the fake accepts.
        app_secret: Signs webhooks (`X-Hub-Signature-256`) and media URLs.
        verify_token: Sent in the webhook verification handshake.
        webhook_url: Where webhooks are POSTed (our app's endpoint).
        rate_limit_per_second: Sends allowed per number in a 1-second sliding window.
        status_delay_ms: Pause before each status webhook (sent, delivered, read).
        webhook_retry_delays_ms: Pauses between retries of a webhook not answered with 200.
        webhook_timeout_s: Per-request timeout of webhook POSTs.
        window_error_mode: "sync" answers 131047 on the send call; "async" accepts the
            send and then posts a `failed` status with 131047, as Meta usually does.
        media_url_ttl_s: Lifetime of a media download URL (Meta: 5 minutes).
    """

    phone_number_id: str = field(default_factory=lambda: _settings().demo_wa_phone_number_id)
    waba_id: str = field(default_factory=lambda: _settings().demo_wa_waba_id)
    display_number: str = field(default_factory=lambda: _settings().demo_wa_display_number)
    access_token: str = field(default_factory=lambda: _settings().demo_wa_access_token.get_secret_value())
    app_secret: str = field(default_factory=lambda: _settings().demo_wa_app_secret.get_secret_value())
    verify_token: str = field(default_factory=lambda: _settings().demo_wa_verify_token.get_secret_value())
    webhook_url: str = field(default_factory=lambda: _settings().effective_sandbox_webhook_url)
    rate_limit_per_second: int = field(default_factory=lambda: _settings().sandbox_rate_limit_per_second)
    status_delay_ms: int = 50
    webhook_retry_delays_ms: tuple[int, ...] = (200, 1000, 3000)
    webhook_timeout_s: float = 10.0
    window_error_mode: str = "sync"
    media_url_ttl_s: int = 300

    @property
    def display_digits(self) -> str:
        """The display number as Meta writes it in webhooks: digits only."""
        return "".join(ch for ch in self.display_number if ch.isdigit())
