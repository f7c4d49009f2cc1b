"""Meta's media rules: which types, how big, and how to check a file's hash."""

from __future__ import annotations

import base64
import hashlib

MB = 1024 * 1024
# kind -> (accepted MIME types, maximum bytes), from Meta's media reference.
MEDIA_RULES: dict[str, tuple[frozenset[str], int]] = {
    "audio": (frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}), 16 * MB),
    "voice": (frozenset({"audio/ogg", "audio/aac", "audio/amr", "audio/mpeg", "audio/mp4"}), 16 * MB),
    "document": (frozenset({
        "text/plain", "application/pdf", "application/vnd.ms-excel", "application/msword",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }), 100 * MB),
    "image": (frozenset({"image/jpeg", "image/png"}), 5 * MB),
    "sticker": (frozenset({"image/webp"}), 500 * 1024),
    "video": (frozenset({"video/3gpp", "video/mp4"}), 16 * MB),
}
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "audio/ogg": ".ogg",
              "audio/mpeg": ".mp3", "audio/mp4": ".m4a", "audio/aac": ".aac", "audio/amr": ".amr",
              "video/mp4": ".mp4", "video/3gpp": ".3gp", "application/pdf": ".pdf", "text/plain": ".txt"}


def base_mime(mime: str | None) -> str:
    """`audio/ogg; codecs=opus` -> `audio/ogg`."""
    return (mime or "").split(";")[0].strip().lower()


def media_problem(kind: str, mime: str | None, size: int) -> str | None:
    """Why a file of this kind, type and size is refused, or None."""
    rules = MEDIA_RULES.get(kind)
    if rules is None:
        return f"{kind} is not a media kind"
    allowed, limit = rules
    if base_mime(mime) not in allowed:
        return f"{base_mime(mime) or 'unknown type'} is not accepted for {kind}"
    if size > limit:
        return f"{size} bytes is over Meta's {limit // 1024} KB limit for {kind}"
    return None


def max_bytes(kind: str) -> int:
    """The largest file Meta accepts for `kind` (100 MB for unknown kinds)."""
    return MEDIA_RULES.get(kind, (frozenset(), 100 * MB))[1]


def sha256_matches(data: bytes, expected: str | None) -> bool:
    """Compare with Meta's sha256, which is hex in some places and base64 in others."""
    if not expected:
        return True
    digest = hashlib.sha256(data).digest()
    return expected.strip().lower() == digest.hex() or expected.strip() == base64.b64encode(digest).decode()


def extension(mime: str | None) -> str:
    """A file extension for a MIME type ('' when unknown)."""
    return EXTENSIONS.get(base_mime(mime), "")
