"""The compliance score: every factor measured from the tenant's data, scaled to 100, weakest first, per tenant."""

import datetime as dt

import pytest

from crm_app.db import utcnow
from crm_app.errors import PermissionDenied
from crm_app.models import User
from crm_app.services.audit import verify
from crm_app.services.compliance import compliance_score, consent, create_request, retention
from tests.factories import make_conversation, make_inbox, make_tenant, make_user


def _factors(db, actor) -> dict[str, float]:
    return {f.code: f.share for f in compliance_score(db, actor=actor).factors}


def test_each_factor_is_measured_and_fixing_them_reaches_100(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    box = make_inbox(db, tenant.id)
    first = make_conversation(db, box.id, wa_id="5511900000001")
    second = make_conversation(db, box.id, wa_id="5511900000002")
    db.commit()
    consent.set_consent(db, actor=admin, contact_id=first.contact_id, purpose="atendimento", granted=True,
                        legal_basis="contract")
    db.commit()
    start = compliance_score(db, actor=admin)
    assert {f.code: f.share for f in start.factors} == {
        "legal_basis": 0.5, "requests": 1.0, "retention": 0.0, "two_factor": 0.0, "audit_chain": 0.0, "dpo": 0.0}
    assert start.value == round(25 * 0.5 + 20)  # 25 × ½ + 20 of 100
    assert [f.code for f in start.factors][:1] == ["retention"]  # the weakest, heaviest first
    assert next(f for f in start.factors if f.code == "legal_basis").params == {"covered": 1, "contacts": 2}

    # A request past due takes the requests factor to nothing.
    create_request(db, actor=admin, contact_id=second.contact_id, kind="correction",
                   today=utcnow().date() - dt.timedelta(days=30))
    db.commit()
    assert _factors(db, admin)["requests"] == 0.0

    # Fix everything else: consent for the other contact, a policy, 2FA, a DPO with 2FA, a verified chain.
    consent.set_consent(db, actor=admin, contact_id=second.contact_id, purpose="marketing", granted=False)
    retention.create_policy(db, actor=admin, action="message_bodies", days=365)
    dpo = make_user(db, tenant.id, "dpo")
    for user_id in (admin.user_id, dpo.user_id):
        db.get(User, user_id).totp_enabled_at = utcnow()
    db.commit()
    verify.verify_for_actor(db, actor=admin, now=utcnow())
    factors = _factors(db, admin)
    assert factors == {"legal_basis": 1.0, "requests": 0.0, "retention": 1.0, "two_factor": 1.0,
                       "audit_chain": 1.0, "dpo": 1.0}
    assert compliance_score(db, actor=dpo).value == 80

    # Another tenant's data never counts; attendants cannot read the score.
    neighbour = make_user(db, make_tenant(db).id, "admin")
    assert _factors(db, neighbour) == {"legal_basis": 1.0, "requests": 1.0, "retention": 0.0, "two_factor": 0.0,
                                       "audit_chain": 0.0, "dpo": 0.0}
    with pytest.raises(PermissionDenied):
        compliance_score(db, actor=make_user(db, tenant.id, "attendant"))
