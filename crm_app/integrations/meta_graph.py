"""Meta's Graph API for WhatsApp Cloud: send, mark read, media and templates.

One long-lived httpx client per process, explicit timeouts, and an injectable
transport. Every failure becomes `ExternalServiceError`, classified by Meta's
error code (`crm_app.domain.meta_errors`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import httpx

from crm_app.domain.meta_errors import classify
from crm_app.integrations.errors import ExternalServiceError

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
DOWNLOAD_TIMEOUT = httpx.Timeout(60.0, connect=5.0)


@dataclass(frozen=True)
class GraphAccount:
    """What a call needs to know about one number: where, who, and with which token."""

    base_url: str
    phone_number_id: str
    waba_id: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@functools.lru_cache(maxsize=1)
def _client() -> httpx.Client:
    return httpx.Client(timeout=TIMEOUT, limits=httpx.Limits(max_connections=50, max_keepalive_connections=20))


def _request(method: str, url: str, *, account: GraphAccount, client: httpx.Client | None = None,
             **kwargs: Any) -> httpx.Response:
    try:
        response = (client or _client()).request(method, url, headers=account.headers, **kwargs)
    except httpx.TimeoutException as exc:
        raise ExternalServiceError("Graph API timed out", retryable=True) from exc
    except httpx.TransportError as exc:
        raise ExternalServiceError(f"Graph API unreachable: {type(exc).__name__}", retryable=True) from exc
    if response.status_code >= 400:
        raise _error_from(response)
    return response


def _error_from(response: httpx.Response) -> ExternalServiceError:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    code = error.get("code")
    info = classify(code if isinstance(code, int) else None, response.status_code)
    details = (error.get("error_data") or {}).get("details") or error.get("message") or response.reason_phrase
    return ExternalServiceError(error.get("message") or f"HTTP {response.status_code}", retryable=info.retryable,
                                code=info.code, http_status=response.status_code, details=details)


def send_message(account: GraphAccount, body: dict[str, Any], *, client: httpx.Client | None = None) -> str:
    """POST a message body; returns the new `wamid`."""
    url = f"{account.base_url}/{account.phone_number_id}/messages"
    data = _request("POST", url, account=account, client=client, json=body).json()
    try:
        return str(data["messages"][0]["id"])
    except (KeyError, IndexError, TypeError) as exc:
        raise ExternalServiceError("Graph API answered without a message id", retryable=False) from exc


def mark_read(account: GraphAccount, body: dict[str, Any], *, client: httpx.Client | None = None) -> bool:
    """POST a mark-as-read (optionally typing) body."""
    url = f"{account.base_url}/{account.phone_number_id}/messages"
    return bool(_request("POST", url, account=account, client=client, json=body).json().get("success"))


def media_info(account: GraphAccount, media_id: str, *, client: httpx.Client | None = None) -> dict[str, Any]:
    """GET /{media-id}: url (valid 5 minutes), mime_type, sha256, file_size."""
    url = f"{account.base_url}/{media_id}"
    return _request("GET", url, account=account, client=client,
                    params={"phone_number_id": account.phone_number_id}).json()


def download(account: GraphAccount, url: str, *, max_bytes: int, client: httpx.Client | None = None) -> bytes:
    """Download a media URL with the bearer token, refusing more than `max_bytes`."""
    response = _request("GET", url, account=account, client=client, timeout=DOWNLOAD_TIMEOUT,
                        follow_redirects=True)
    if len(response.content) > max_bytes:
        raise ExternalServiceError("media larger than Meta's limit", retryable=False)
    return response.content


def upload_media(account: GraphAccount, content: bytes, mime_type: str, filename: str, *,
                 client: httpx.Client | None = None) -> str:
    """POST /{phone-number-id}/media; returns the media id."""
    url = f"{account.base_url}/{account.phone_number_id}/media"
    files = {"file": (filename, content, mime_type)}
    data = {"messaging_product": "whatsapp", "type": mime_type}
    return str(_request("POST", url, account=account, client=client, files=files, data=data).json()["id"])


def list_templates(account: GraphAccount, *, after: str | None = None, limit: int = 100,
                   client: httpx.Client | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the WABA's templates and the cursor of the next page (None at the end)."""
    params: dict[str, Any] = {"limit": limit}
    if after:
        params["after"] = after
    url = f"{account.base_url}/{account.waba_id}/message_templates"
    data = _request("GET", url, account=account, client=client, params=params).json()
    paging = data.get("paging") or {}
    next_cursor = (paging.get("cursors") or {}).get("after") if paging.get("next") else None
    return list(data.get("data") or []), next_cursor


def phone_number_info(account: GraphAccount, fields: tuple[str, ...], *,
                      client: httpx.Client | None = None) -> dict[str, Any]:
    """GET /{phone-number-id}?fields=...: the number as Meta knows it (verified_name, quality_rating, ...)."""
    url = f"{account.base_url}/{account.phone_number_id}"
    data = _request("GET", url, account=account, client=client, params={"fields": ",".join(fields)}).json()
    if not isinstance(data, dict):
        raise ExternalServiceError("Graph API answered something that is not an object", retryable=False)
    return data
