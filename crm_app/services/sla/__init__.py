"""SLA: policies (targets, conditions, warning and escalation) and, later, each conversation's SLA state."""

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

__all__ = ["PoliciesPage", "PolicyView", "create_policy", "delete_policy", "get_policy", "list_policies",
           "policies_page", "policy_for", "update_policy"]
