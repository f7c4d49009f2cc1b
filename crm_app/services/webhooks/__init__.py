"""Outgoing webhooks: endpoints, the transactional outbox, signed deliveries and replay.

Other areas call `emit(session, tenant_id, event_type, data)` where their change happens, in its transaction,
after registering the type in `crm_app.domain.webhooks.EVENT_TYPES`.
"""

from crm_app.services.webhooks.delivery import deliver, sweep
from crm_app.services.webhooks.endpoints import (
    EndpointView,
    create_endpoint,
    delete_endpoint,
    get_endpoint,
    list_endpoints,
    rotate_secret,
    send_test,
    update_endpoint,
)
from crm_app.services.webhooks.log import (
    AttemptRow,
    DeliveryRow,
    EndpointStats,
    WebhooksPage,
    endpoint_stats,
    list_attempts,
    list_deliveries,
    replay,
    resend_delivery,
    webhooks_page,
)
from crm_app.services.webhooks.outbox import emit, relay_events

__all__ = ["AttemptRow", "DeliveryRow", "EndpointStats", "EndpointView", "WebhooksPage", "create_endpoint",
           "delete_endpoint", "deliver", "emit", "endpoint_stats", "get_endpoint", "list_attempts", "list_deliveries",
           "list_endpoints", "relay_events", "replay", "resend_delivery", "rotate_secret", "send_test", "sweep",
           "update_endpoint", "webhooks_page"]
