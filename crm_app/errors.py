"""Errors that are safe to show a user.

Each has a stable `code`; the UI looks up `error.<code>` in the language
catalogue, and falls back to `message`.
"""

from __future__ import annotations


class CRMError(Exception):
    """Base class: `code` is stable, `message` is safe to show."""

    code = "error"
    status = 400

    def __init__(self, message: str = "", **params: object) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        self.params = params


class NotFound(CRMError):
    """Missing, or belongs to another tenant: the same answer for both."""

    code = "not_found"
    status = 404


class PermissionDenied(CRMError):
    code = "permission_denied"
    status = 403


class NotAuthenticated(CRMError):
    code = "not_authenticated"
    status = 401


class InvalidCredentials(CRMError):
    code = "invalid_credentials"
    status = 401


class ValidationError(CRMError):
    code = "validation"
    status = 422


class Conflict(CRMError):
    code = "conflict"
    status = 409


class TooManyRequests(CRMError):
    """An action repeated faster than its limit allows; `retry_after` (seconds) says when it may come back."""

    code = "too_many_requests"
    status = 429
