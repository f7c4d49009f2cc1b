"""Login throttling in Redis: per account and per IP (ASVS 5.0 6.1.1 / 6.3.1, 4.0.3 2.2.1).

Per account. The key is the SHA-256 of the normalised e-mail, so an unknown e-mail is throttled exactly like a
known one (no enumeration) and no address sits in Redis in clear. `throttle_account_failures` (5) failures
inside `throttle_window_minutes` (15) lock the account for `throttle_lock_minutes` (15); every new lock within a
day doubles the last one, up to `throttle_lock_max_minutes` (4 h). A separate hourly counter also locks at
`throttle_account_hourly_ceiling` (100): ASVS's ceiling holds even if the lock settings are loosened.
A success clears the failure count and the doubling.

Per IP. A wider net against one source spraying many accounts: `throttle_ip_failures` (50) failures in the
window lock that IP for `throttle_lock_minutes`, without doubling. It counts failures only, so an office behind
one NAT is never locked by its own people logging in, and it is what keeps a sprayer from locking every
account it names (lockout as denial of service): after 50 tries it cannot reach further accounts.

The lock is soft: it ends on its own, and it is checked before bcrypt runs, so a locked login costs no CPU and
answers the same for every e-mail. Wrong 2FA codes count as failures on the same keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from crm_app.config import get_settings
from crm_app.domain.text import normalize_email
from crm_app.errors import CRMError
from crm_app.queue import get_redis

PREFIX = "crm:throttle:"


class LoginThrottled(CRMError):
    """Too many failures for this account or from this address; the message never says which."""

    code = "login_throttled"
    status = 429


@dataclass(frozen=True)
class Verdict:
    """Whether a login must be refused now, and for how long."""

    locked: bool
    retry_after: int  # seconds, 0 when not locked


# KEYS: fails, lock, level, hour. ARGV: threshold, window_s, lock_s, max_lock_s, hourly_ceiling (0 = none),
# grow (1/0). One round trip, atomic: concurrent failures cannot slip past the threshold.
_RECORD_FAILURE = """
local fails = redis.call('INCR', KEYS[1])
if fails == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2])) end
local lock_for = 0
if fails >= tonumber(ARGV[1]) then
  local lock_s = tonumber(ARGV[3])
  if ARGV[6] == '1' then
    local level = redis.call('INCR', KEYS[3])
    redis.call('EXPIRE', KEYS[3], 86400)
    lock_s = math.min(lock_s * (2 ^ (level - 1)), tonumber(ARGV[4]))
  end
  lock_for = lock_s
  redis.call('DEL', KEYS[1])
end
if tonumber(ARGV[5]) > 0 then
  local hour = redis.call('INCR', KEYS[4])
  if hour == 1 then redis.call('EXPIRE', KEYS[4], 3600) end
  if hour >= tonumber(ARGV[5]) then
    lock_for = math.max(lock_for, redis.call('TTL', KEYS[4]))
  end
end
if lock_for > 0 then
  local current = redis.call('TTL', KEYS[2])
  if current < lock_for then redis.call('SET', KEYS[2], '1', 'EX', math.floor(lock_for)) end
end
return lock_for
"""


def account_key(email: str | None) -> str:
    """The throttle id of an e-mail: hashed, after the same normalising as the login lookup."""
    return hashlib.sha256(normalize_email(email or "").encode()).hexdigest()[:32]


def _keys(kind: str, ident: str) -> list[str]:
    base = f"{PREFIX}{kind}:{ident}"
    return [f"{base}:fails", f"{base}:lock", f"{base}:level", f"{base}:hour"]


def check(email: str | None, ip: str | None) -> Verdict:
    """Whether a login for `email` from `ip` must be refused now, before any password work."""
    redis = get_redis()
    pipe = redis.pipeline(transaction=False)
    pipe.ttl(_keys("acct", account_key(email))[1])
    if ip:
        pipe.ttl(_keys("ip", ip)[1])
    ttls = [t for t in pipe.execute() if t and t > 0]
    return Verdict(locked=bool(ttls), retry_after=max(ttls, default=0))


def ensure_allowed(email: str | None, ip: str | None) -> None:
    """Raise LoginThrottled when `check` says locked."""
    verdict = check(email, ip)
    if verdict.locked:
        raise LoginThrottled("too many attempts; try again later", retry_after=verdict.retry_after)


def record_failure(email: str | None, ip: str | None) -> bool:
    """Count one failed login (or wrong 2FA code). Returns whether this failure started a lock."""
    settings = get_settings()
    redis = get_redis()
    script = redis.register_script(_RECORD_FAILURE)
    window = settings.throttle_window_minutes * 60
    lock = settings.throttle_lock_minutes * 60
    locked = script(keys=_keys("acct", account_key(email)),
                    args=[settings.throttle_account_failures, window, lock, settings.throttle_lock_max_minutes * 60,
                          settings.throttle_account_hourly_ceiling, 1])
    if ip:
        script(keys=_keys("ip", ip), args=[settings.throttle_ip_failures, window, lock, lock, 0, 0])
    return bool(locked)


def record_success(email: str | None) -> None:
    """A right password: forget the account's recent failures and the doubling (the hourly count stays)."""
    fails, _lock, level, _hour = _keys("acct", account_key(email))
    get_redis().delete(fails, level)


def clear(email: str | None = None, ip: str | None = None) -> None:
    """Drop every throttle key of an account and/or IP (tests, and an admin unlocking someone)."""
    keys = (_keys("acct", account_key(email)) if email is not None else []) + (_keys("ip", ip) if ip else [])
    if keys:
        get_redis().delete(*keys)
