"""Strings of the SLA in the inbox (deadline chips, priority, the sort and filter), in both languages."""

PT_BR: dict[str, str] = {
    "inbox.sort.due": "Vence primeiro",
    "inbox.sort.priority": "Prioridade",
    "inbox.filter.sla_risk": "SLA em risco",
    "inbox.filter.sla_risk_help": "Prazo estourado ou nos últimos 20 % do tempo",
    "inbox.sla.overdue": "estourado há {x}",
    "inbox.sla.deadline": "Prazo do SLA: {time}",
    "inbox.sla.missed": "Prazo do SLA estourado: era {time}",
    "inbox.priority": "Prioridade",
    "inbox.priority.change": "Mudar a prioridade",
    "inbox.toast.priority": "Prioridade alterada.",
}

EN: dict[str, str] = {
    "inbox.sort.due": "Due first",
    "inbox.sort.priority": "Priority",
    "inbox.filter.sla_risk": "SLA at risk",
    "inbox.filter.sla_risk_help": "Deadline missed or in the last 20 % of its time",
    "inbox.sla.overdue": "overdue by {x}",
    "inbox.sla.deadline": "SLA deadline: {time}",
    "inbox.sla.missed": "SLA deadline missed: it was {time}",
    "inbox.priority": "Priority",
    "inbox.priority.change": "Change the priority",
    "inbox.toast.priority": "Priority changed.",
}
