"""The attendant inbox, one Reflex substate per section of the page.

    SessionState
    └── InboxState                      base.py: filter and dialog choices, unread total, page title
        └── InboxListState              listing.py: tabs, counts, search, filters, pages
            └── InboxConversationState  conversation.py: the open chat, customer panel, dialogs
                ├── InboxComposerState  composer.py: replies, notes, canned, AI drafts, templates, buttons, files
                ├── InboxActionsState   actions.py: take over, transfer, close, reopen, snooze, labels, resend
                └── InboxLiveState      live.py: on_load, presence, notifications, real-time pushes

A substate reads and writes its ancestors' vars as its own, so the sections share the list and the open
conversation without sibling lookups. Every handler re-derives the actor from the session cookie.
`view.py` holds the pure helpers that turn service DTOs into the flat string dicts the page renders.
"""

from crm_app.state.inbox.actions import InboxActionsState
from crm_app.state.inbox.base import InboxState
from crm_app.state.inbox.composer import InboxComposerState
from crm_app.state.inbox.conversation import InboxConversationState
from crm_app.state.inbox.listing import InboxListState
from crm_app.state.inbox.live import InboxLiveState, listen, push_events

__all__ = ["InboxActionsState", "InboxComposerState", "InboxConversationState", "InboxListState",
           "InboxLiveState", "InboxState", "listen", "push_events"]
