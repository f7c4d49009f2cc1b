"""The bot: turns triggered by customers, flows and their editor, AI answers and the knowledge base."""

from crm_app.services.bot.actions import (  # noqa: F401
    close_by_bot,
    kick_deliveries,
    merge_sends,
    perform_actions,
    send_bot_message,
)
from crm_app.services.bot.ai import (  # noqa: F401
    AiAnswer,
    AiFailed,
    UsageSummary,
    answer,
    build_messages,
    judge,
    month_spend,
    month_start,
    month_usage,
    suggest_reply,
    try_question,
)
from crm_app.services.bot.ai_settings import (  # noqa: F401
    AiSettingsView,
    KnowledgeOverview,
    get_ai_settings,
    knowledge_overview,
    save_ai_settings,
    seed_demo,
)
from crm_app.services.bot.editor import (  # noqa: F401
    EditorChoices,
    FlowEditorView,
    PublishOutcome,
    editor_choices,
    get_flow_editor,
    save_and_publish,
)
from crm_app.services.bot.flows import (  # noqa: F401
    FlowInvalid,
    FlowView,
    VersionRow,
    flow_of_conversation,
    get_flow,
    list_versions,
    publish,
    save_draft,
    seed_flow,
)
from crm_app.services.bot.knowledge import (  # noqa: F401
    KnowledgeHit,
    KnowledgeRow,
    create_entry,
    delete_entry,
    ensure_entry,
    keywords,
    list_entries,
    overlap,
    retrieve,
    search_text_for,
    update_entry,
)
from crm_app.services.bot.runtime import (  # noqa: F401
    expire_session,
    reply_id_of,
    run_turn,
)
from crm_app.services.bot.simulator import (  # noqa: F401
    SimLine,
    simulate,
)
from crm_app.services.bot.sweeps import (  # noqa: F401
    expire_bot_sessions,
    sweep_bot_turns,
)
from crm_app.services.bot.trigger import (  # noqa: F401
    enqueue_turn,
    forget_scheduled_turns,
)
