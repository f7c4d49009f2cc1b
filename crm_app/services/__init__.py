"""Use cases. The only layer that writes; every call is scoped to the actor's tenant."""

from crm_app.db import session_scope as transaction

__all__ = ["call", "transaction"]


def call(use_case, /, *args, **kwargs):
    """Run one service function in its own transaction and return what it returns.

    States call exactly one use case per handler this way (`call(inbox.take_over, actor=a,
    conversation_id=7)`); a handler that needs several reads asks its context for one read model.

    Args:
        use_case: A service function whose first parameter is the session.
        *args: Its positional arguments after the session.
        **kwargs: Its keyword arguments (`actor=` among them).

    Returns:
        The function's result (DTOs, never ORM rows that outlive the session).
    """
    with transaction() as session:
        return use_case(session, *args, **kwargs)
