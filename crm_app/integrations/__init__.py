"""Thin clients for outside services. They raise `ExternalServiceError`; nothing above imports httpx."""

from crm_app.integrations.errors import ExternalServiceError

__all__ = ["ExternalServiceError"]
