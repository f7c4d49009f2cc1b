"""The tables. Importing this package registers every table on `SQLModel.metadata`."""

from crm_app.models.analytics import (
    AnalyticsConversationHour,
    AnalyticsDaily,
    AnalyticsDailyLabel,
    AnalyticsHourly,
    ConversationFact,
    ConversationResponse,
    PresenceInterval,
)
from crm_app.models.api_tokens import ApiToken
from crm_app.models.audit_logs import AuditChainHead, AuditDetail, AuditLog
from crm_app.models.bot import AiUsage, BotFlow, BotFlowVersion, BotSession, KnowledgeEntry
from crm_app.models.canned_responses import CannedResponse
from crm_app.models.contacts import Contact, ContactInbox
from crm_app.models.conversations import (
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    ConversationStatus,
)
from crm_app.models.csat import CsatStatus, CsatSurvey
from crm_app.models.emails import Email, EmailStatus
from crm_app.models.exports import Export, ExportStatus
from crm_app.models.inbound_events import InboundEvent, InboundEventStatus
from crm_app.models.inboxes import Inbox
from crm_app.models.incidents import Incident, IncidentStatus
from crm_app.models.labels import ConversationLabel, Label
from crm_app.models.messages import Direction, Message, MessageKind, MessageStatus, SenderType
from crm_app.models.privacy import (
    ConsentEvent,
    ConsentPurpose,
    ConsentSource,
    DpoReport,
    ErasureRecord,
    LegalHold,
    PrivacyRequest,
    RequestKind,
    RequestStatus,
    RetentionAction,
    RetentionPolicy,
)
from crm_app.models.security import RecoveryCode, SsoConfig
from crm_app.models.settings import SettingChange, SettingTemplate, SettingValue
from crm_app.models.sla import ConversationSla, SlaAction, SlaClock, SlaPolicy
from crm_app.models.teams import Team, TeamMember
from crm_app.models.templates import MessageTemplate
from crm_app.models.tenants import Tenant
from crm_app.models.users import Role, User, UserSession
from crm_app.models.webhooks import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

__all__ = [
    "AnalyticsConversationHour", "AnalyticsDaily", "AnalyticsDailyLabel", "AnalyticsHourly", "ConversationFact",
    "ConversationResponse",
    "PresenceInterval",
    "AiUsage", "ApiToken", "AuditChainHead", "AuditDetail", "AuditLog", "BotFlow", "BotFlowVersion", "BotSession",
    "CannedResponse", "Contact", "ContactInbox", "CsatStatus", "CsatSurvey",
    "Conversation", "ConversationEvent", "ConversationEventKind", "ConversationSla",
    "Email", "EmailStatus", "Incident", "IncidentStatus",
    "ConversationLabel", "ConversationStatus", "Direction", "InboundEvent", "InboundEventStatus", "Inbox",
    "KnowledgeEntry", "Label", "Message", "MessageKind", "MessageStatus", "MessageTemplate", "RecoveryCode",
    "Role", "SenderType", "SettingChange", "SettingTemplate", "SettingValue", "SlaAction", "SlaClock", "SlaPolicy",
    "SsoConfig", "Team", "TeamMember",
    "Tenant", "User", "UserSession",
    "DeliveryStatus", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint", "WebhookEvent",
    "ConsentEvent", "ConsentPurpose", "ConsentSource", "DpoReport", "ErasureRecord", "LegalHold", "PrivacyRequest",
    "RequestKind", "RequestStatus", "RetentionAction", "RetentionPolicy",
    "Export", "ExportStatus",
]
