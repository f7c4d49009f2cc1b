"""AES-GCM encryption of secrets at rest.

A stored value is ``v1:`` followed by url-safe base64 of a 12-byte nonce and the
ciphertext with its tag. The key comes from settings.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crm_app.config import get_settings

PREFIX = "v1:"


class DecryptionError(Exception):
    """A stored secret could not be decrypted with the configured key."""


def encrypt(plaintext: str, *, key: bytes | None = None) -> str:
    """Encrypt a string and return the stored form."""
    nonce = secrets.token_bytes(12)
    aes = AESGCM(key or get_settings().encryption_key_bytes())
    sealed = aes.encrypt(nonce, plaintext.encode(), None)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(stored: str, *, key: bytes | None = None) -> str:
    """Decrypt the stored form made by `encrypt`."""
    if not stored.startswith(PREFIX):
        raise DecryptionError("unknown secret format")
    raw = base64.urlsafe_b64decode(stored[len(PREFIX):])
    aes = AESGCM(key or get_settings().encryption_key_bytes())
    try:
        return aes.decrypt(raw[:12], raw[12:], None).decode()
    except InvalidTag as exc:
        raise DecryptionError("secret does not match the encryption key") from exc


def derive_key(purpose: str, *, length: int = 32, key: bytes | None = None) -> bytes:
    """A key for one purpose (e.g. "privacy-manifest:12"), derived from the encryption key with HKDF-SHA256.

    Each purpose gets its own key, so a key leaked from one use (a signed manifest) says nothing of another.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=b"atende-crm-derived-keys-v1",
                info=purpose.encode())
    return hkdf.derive(key or get_settings().encryption_key_bytes())
