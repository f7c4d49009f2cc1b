"""Where the app may send a browser after login."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(value: str | None) -> str:
    """A same-site path to go to after login, or "/".

    Browsers treat `\\` as `/` and drop tabs and newlines, so `/\\evil.com` and `/%09/evil.com` would
    leave the site; anything but a plain absolute path is refused.
    """
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/"
    if any(ch in value for ch in "\\\t\r\n") or any(ord(ch) < 32 for ch in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith("//"):
        return "/"
    return value
