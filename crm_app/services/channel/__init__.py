"""WhatsApp in and out: webhook ingest, inbound messages, outbound delivery, media, templates, numbers."""

from crm_app.services.channel.inbound import (  # noqa: F401
    InvalidSender,
    apply_status,
    record_inbound_message,
)
from crm_app.services.channel.ingest import (  # noqa: F401
    DatabaseUnavailable,
    DeadEventRow,
    Route,
    StatusNotYetKnown,
    WebhookOutcome,
    drain_flag,
    drain_inbound_events,
    drain_slots,
    enqueue_event,
    forget_routes,
    list_dead_events,
    lookup_route,
    notify_event,
    notify_event_async,
    process_inbound_event,
    receive_webhook,
    receive_webhook_async,
    replay_event,
    store_webhook,
    sweep_inbound_events,
)
from crm_app.services.channel.marketing import MarketingConsentRequired  # noqa: F401
from crm_app.services.channel.media import (  # noqa: F401
    account_for,
    download_inbound_media,
    enqueue_download,
    read_message_media,
    store_outbound_file,
    sweep_pending_media,
    upload_for_sending,
)
from crm_app.services.channel.numbers import (  # noqa: F401
    InboxRow,
    NumberForm,
    NumberRow,
    NumbersPage,
    access_inbox,
    all_verify_tokens,
    ensure_inbox,
    find_inbox_by_phone_number_id,
    get_inbox,
    list_inboxes,
    numbers_page,
    rename_inbox,
    save_number,
    verify_number,
)
from crm_app.services.channel.outbound import (  # noqa: F401
    IdempotencyKeyReused,
    MessageRow,
    WindowClosed,
    deliver_message,
    enqueue_delivery,
    resend_failed,
    retry_delay,
    send_message,
    sweep_queued_messages,
)
from crm_app.services.channel.overview import (  # noqa: F401
    SettingsOverview,
    settings_overview,
)
from crm_app.services.channel.reads import (  # noqa: F401
    UnsupportedRow,
    list_unsupported,
    mark_conversation_read,
    send_read_receipt,
)
from crm_app.services.channel.templates import (  # noqa: F401
    TemplateRow,
    enqueue_all_syncs,
    list_templates,
    sync_inbox_templates,
)
