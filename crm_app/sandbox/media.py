"""Media rules (reference §5): supported types, size limits, and expiring download URLs."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

from starlette.datastructures import FormData, UploadFile

from crm_app.sandbox import ids
from crm_app.sandbox.errors import GraphError, param_error
from crm_app.sandbox.state import MediaItem

MB = 1024 * 1024
KINDS: dict[str, tuple[str, ...]] = {
    "audio": ("audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"),
    "document": ("text/plain", "application/vnd.ms-excel",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/msword",
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "application/vnd.ms-powerpoint",
                 "application/vnd.openxmlformats-officedocument.presentationml.presentation", "application/pdf"),
    "image": ("image/jpeg", "image/png"),
    "sticker": ("image/webp",),
    "video": ("video/3gpp", "video/mp4"),
}
MAX_BYTES = {"audio": 16 * MB, "document": 100 * MB, "image": 5 * MB, "sticker": 500 * 1024, "video": 16 * MB}
ALL_TYPES = ", ".join(m for mimes in KINDS.values() for m in mimes)


def base_mime(mime: str) -> str:
    """`audio/ogg; codecs=opus` -> `audio/ogg`."""
    return mime.split(";")[0].strip().lower()


def kind_for(mime: str) -> str | None:
    """The WhatsApp media kind a MIME type belongs to, if supported."""
    base = base_mime(mime)
    for kind, mimes in KINDS.items():
        if base in mimes:
            return kind
    return None


def check_size(kind: str, size: int) -> None:
    """Refuse a file over Meta's limit for its kind."""
    limit = MAX_BYTES[kind]
    if size > limit:
        shown = f"{limit // MB}MB" if limit >= MB else f"{limit // 1024}KB"
        raise GraphError(131053, f"Media file size too big. Max file size we currently support for {kind}: {shown}. "
                                 f"Received {size} bytes.")


async def from_form(form: FormData, *, phone_number_id: str, uploaded_by: str, now: dt.datetime,
                    need_product: bool = True) -> MediaItem:
    """A media item from a multipart upload (`file`, `type`, `messaging_product`), or a `GraphError`."""
    if need_product and form.get("messaging_product") in (None, ""):
        raise param_error("The parameter messaging_product is required.")
    if need_product and form.get("messaging_product") != "whatsapp":
        raise param_error(f'Param messaging_product must be one of {{WHATSAPP}} - got '
                          f'"{form.get("messaging_product")}".')
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise param_error("The parameter file is required.")
    declared = form.get("type")
    mime = str(declared) if isinstance(declared, str) and declared else (upload.content_type or "")
    kind = kind_for(mime)
    if kind is None:
        raise param_error(f"Param file must be a file with one of the following types: {ALL_TYPES}. "
                          f"Received file of type '{mime}'.")
    data = await upload.read()
    check_size(kind, len(data))
    return MediaItem(id=ids.new_media_id(), phone_number_id=phone_number_id, mime_type=mime.strip(), data=data,
                     filename=upload.filename, uploaded_by=uploaded_by, created_at=now)


def url_signature(media_id: str, expires: int, secret: str) -> str:
    """The `hash` of a download URL."""
    return hmac.new(secret.encode(), f"{media_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def download_url(base_url: str, item: MediaItem, *, secret: str, now: dt.datetime, ttl_s: int) -> str:
    """A download URL for the item that expires after `ttl_s` seconds (Meta: 5 minutes)."""
    expires = int(now.timestamp()) + ttl_s
    return (f"{base_url.rstrip('/')}/sandbox/media/{item.id}?mid={item.id}&ext={expires}"
            f"&hash={url_signature(item.id, expires, secret)}")


def url_is_valid(item: MediaItem, query: dict[str, str], *, secret: str, now: dt.datetime) -> bool:
    """Whether a download URL's hash matches and it has not expired."""
    try:
        expires = int(query.get("ext", ""))
    except ValueError:
        return False
    expected = url_signature(item.id, expires, secret)
    return hmac.compare_digest(expected, query.get("hash", "")) and now.timestamp() <= expires


def describe(item: MediaItem, url: str) -> dict[str, Any]:
    """`GET /{media_id}`'s answer."""
    return {"messaging_product": "whatsapp", "url": url, "mime_type": item.mime_type, "sha256": item.sha256_hex,
            "file_size": len(item.data), "id": item.id}
