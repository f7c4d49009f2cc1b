"""Use cases. The only layer that writes; every call is scoped to the actor's tenant."""

from crm_app.db import session_scope as transaction

__all__ = ["transaction"]
