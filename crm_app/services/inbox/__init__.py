"""The attendant's workspace: listing, message views, actions and canned responses."""

from crm_app.services.inbox.actions import (  # noqa: F401
    add_note,
    assign,
    close,
    reopen,
    snooze,
    take_over,
    transfer,
    wake_snoozed,
)
from crm_app.services.inbox.canned import (  # noqa: F401
    CannedRow,
    create_canned,
    delete_canned,
    list_canned,
    render,
    update_canned,
)
from crm_app.services.inbox.listing import (  # noqa: F401
    SORTS,
    TABS,
    ConversationDetail,
    ConversationPage,
    ConversationRow,
    InboxSummary,
    conversation_row,
    find_conversation_row,
    get_conversation,
    list_conversations,
    summarize,
    tab_counts,
    unread_total,
)
from crm_app.services.inbox.options import (  # noqa: F401
    InboxOptions,
    Option,
    list_options,
)
from crm_app.services.inbox.views import (  # noqa: F401
    MessageView,
    OpenConversation,
    list_messages,
    message_views,
    open_conversation,
    system_text,
)
