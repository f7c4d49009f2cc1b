"""The one error type every integration raises."""

from __future__ import annotations


class ExternalServiceError(Exception):
    """An outside service refused or failed. `retryable` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool, code: int | None = None, http_status: int | None = None,
                 details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code
        self.http_status = http_status
        self.details = details
