"""SLA: policies (targets, conditions, warning and escalation), each conversation's clocks and what they called for
(`tracking`, run by jobs), its priority, and its SLA as a reader sees it (`status`)."""

from crm_app.services.sla.policies import (
    PoliciesPage,
    PolicyView,
    create_policy,
    delete_policy,
    get_policy,
    list_policies,
    policies_page,
    policy_for,
    update_policy,
)
from crm_app.services.sla.priority import set_priority
from crm_app.services.sla.status import ConversationSlaView, conversation_sla

__all__ = ["ConversationSlaView", "PoliciesPage", "PolicyView", "conversation_sla", "create_policy", "delete_policy",
           "get_policy", "list_policies", "policies_page", "policy_for", "set_priority", "update_policy"]
