"""Who may read the audit trail and the incident register: admins and the DPO (encarregado)."""

READERS: tuple[str, ...] = (
    "admin",
    "dpo",
)
