"""/compliance/consents: counts per purpose, and one contact's ledger (with a form to record an answer)."""

from __future__ import annotations

import reflex as rx

from crm_app.domain.timefmt import format_local
from crm_app.errors import ValidationError
from crm_app.services import call, compliance
from crm_app.state.compliance import PRIVACY_ROLES
from crm_app.state.errors import toast_errors
from crm_app.state.session import SessionState

PURPOSES = ("atendimento", "marketing", "pesquisa")


class ConsentsState(SessionState):
    """Counts per purpose, the contact looked up, and its ledger as plain rows."""

    purpose_counts: list[dict[str, str]] = []
    lookup_contact: str = ""
    ledger_rows: list[dict[str, str]] = []
    ledger_for: str = ""
    new_purpose: str = "marketing"
    consents_loaded: bool = False

    @rx.event
    @toast_errors
    def load_consents(self):
        """on_load: counts per purpose (admins and the DPO only, checked here too)."""
        self._load_counts(self._require(*PRIVACY_ROLES))
        self.ledger_rows, self.ledger_for, self.consents_loaded = [], "", True

    def _load_counts(self, actor) -> None:
        counts = call(compliance.counts_by_purpose, actor=actor)
        self.purpose_counts = [{"purpose": self.t[f"compliance.purpose.{p}"], "granted": str(c["granted"]),
                                "withdrawn": str(c["withdrawn"])} for p, c in counts.items()]

    @rx.event
    def set_lookup_contact(self, value: str):
        self.lookup_contact = value.strip()

    @rx.event
    def set_new_purpose(self, value: str):
        self.new_purpose = value if value in PURPOSES else "marketing"

    def _contact_id(self) -> int:
        if not self.lookup_contact.isdigit():
            raise ValidationError(self.t["compliance.error.contact"], field="contact_id")
        return int(self.lookup_contact)

    def _show(self, rows, timezone: str, contact_id: int) -> None:
        self.ledger_for = str(contact_id)
        self.ledger_rows = [{"purpose": self.t[f"compliance.purpose.{r.purpose}"],
                             "state": self.t["compliance.granted" if r.granted else "compliance.withdrawn"],
                             "granted": "1" if r.granted else "", "source": self.t.get(
                                 f"compliance.source.{r.source}", r.source),
                             "basis": r.legal_basis, "version": r.policy_version, "proof": r.proof,
                             "when": format_local(r.created_at, timezone)} for r in rows]

    @rx.event
    @toast_errors
    def look_up(self):
        """The whole ledger of the contact typed, oldest first."""
        actor, contact_id = self._require(*PRIVACY_ROLES), self._contact_id()
        self._show(call(compliance.list_consents, actor=actor, contact_id=contact_id), actor.timezone, contact_id)

    @rx.event
    @toast_errors
    def record(self, granted: bool):
        """Record an answer given outside WhatsApp (phone, paper) for the looked-up contact."""
        actor, contact_id = self._require(*PRIVACY_ROLES), self._contact_id()
        call(compliance.set_consent, actor=actor, contact_id=contact_id, purpose=self.new_purpose,
             granted=bool(granted))
        self._show(call(compliance.list_consents, actor=actor, contact_id=contact_id), actor.timezone, contact_id)
        self._load_counts(actor)  # the counts change too; the ledger shown stays
