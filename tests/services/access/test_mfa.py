"""TOTP 2FA: enrolment, ±1 step of skew, single use (also under a race), recovery codes, the login's code step."""

import datetime as dt
import re
import threading

import pyotp
import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from crm_app.db import get_engine, utcnow
from crm_app.errors import InvalidCredentials
from crm_app.models import AuditLog, RecoveryCode, User, UserSession
from crm_app.services.access import logins, mfa, sessions, throttle
from crm_app.services.access.mfa import InvalidCode, MfaRefused
from tests.factories import BROWSER, PASSWORD, make_tenant, make_user

IP = "198.51.100.30"


@pytest.fixture(autouse=True)
def _fresh_throttle(redis_client):
    keys = list(redis_client.scan_iter("crm:throttle:*"))
    if keys:
        redis_client.delete(*keys)


def _code(secret, now=None, steps=0):
    return mfa.code_at(secret, mfa.current_step(now) + steps)


def _enrolled(db, role="admin", tenant=None):
    """A user with 2FA on; returns (actor, secret, recovery codes)."""
    tenant = tenant or make_tenant(db)
    actor = make_user(db, tenant.id, role)
    enrolment = mfa.start_enrolment(db, actor=actor)
    db.commit()
    codes = mfa.confirm_enrolment(db, actor=actor, code=_code(enrolment.secret, steps=-1))
    db.commit()
    return actor, enrolment.secret, codes


def test_enrolment_gives_a_qr_code_made_here_and_a_160_bit_secret_stored_encrypted(db):
    actor = make_user(db, make_tenant(db).id)
    enrolment = mfa.start_enrolment(db, actor=actor)
    db.commit()
    assert len(enrolment.secret) == 32 and pyotp.TOTP(enrolment.secret).now()  # 32 base32 chars = 160 bits
    assert enrolment.qr_data_uri.startswith("data:image/svg+xml")
    assert enrolment.uri.startswith("otpauth://totp/") and "Atende" in enrolment.uri
    raw = db.execute(text("SELECT totp_secret FROM users WHERE id = :id"), {"id": actor.user_id}).scalar()
    assert raw and enrolment.secret not in raw  # AES-GCM at rest
    assert not mfa.is_enabled(db.get(User, actor.user_id))  # not before a first code
    with pytest.raises(InvalidCode):
        mfa.confirm_enrolment(db, actor=actor, code="000000" if _code(enrolment.secret) != "000000" else "111111")


def test_confirming_turns_2fa_on_with_ten_hashed_single_use_recovery_codes(db):
    actor, _, codes = _enrolled(db)
    db.expire_all()
    assert mfa.is_enabled(db.get(User, actor.user_id)) and len(codes) == 10 and len(set(codes)) == 10
    stored = db.exec(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == actor.user_id)).all()
    assert len(stored) == 10 and not any(c in h or c.replace("-", "") in h for c in codes for h in stored)
    assert "auth.2fa_enabled" in db.exec(select(AuditLog.action)).all()
    with pytest.raises(MfaRefused):
        mfa.start_enrolment(db, actor=actor)


def test_a_code_is_accepted_one_step_either_side_but_not_two(db):
    actor, secret, _ = _enrolled(db)
    user = db.get(User, actor.user_id)
    now = utcnow() + dt.timedelta(minutes=10)  # later than the enrolment code's step
    for steps, accepted in ((-2, False), (2, False), (-1, True), (0, True), (1, True)):
        assert mfa.verify_totp(db, user=user, code=_code(secret, now, steps), now=now) is accepted, steps
    db.commit()


def test_a_code_is_usable_once(db):
    actor, secret, _ = _enrolled(db)
    user = db.get(User, actor.user_id)
    later = utcnow() + dt.timedelta(minutes=5)
    code = _code(secret, later)
    assert mfa.verify_totp(db, user=user, code=code, now=later)
    db.commit()
    assert not mfa.verify_totp(db, user=user, code=code, now=later)
    # and an older step's code, still inside the skew window, cannot be played after a newer one
    assert not mfa.verify_totp(db, user=user, code=_code(secret, later, -1), now=later)


def test_two_concurrent_submissions_of_one_code_let_only_one_through(db):
    actor, secret, _ = _enrolled(db)
    later = utcnow() + dt.timedelta(minutes=5)
    code = _code(secret, later)
    barrier, results = threading.Barrier(2), []

    def submit():
        with Session(get_engine()) as session:
            user = session.get(User, actor.user_id)
            barrier.wait()
            ok = mfa.verify_totp(session, user=user, code=code, now=later)
            session.commit()
            results.append(ok)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]


def test_recovery_codes_work_once_each(db):
    actor, _, codes = _enrolled(db)
    user = db.get(User, actor.user_id)
    assert mfa.use_recovery_code(db, user=user, code=codes[3].upper().replace("-", " "))  # typed loosely
    db.commit()
    assert not mfa.use_recovery_code(db, user=user, code=codes[3])
    assert not mfa.use_recovery_code(db, user=user, code="aaaaa-bbbbb")
    assert mfa.remaining_recovery_codes(db, user_id=actor.user_id) == 9


def test_password_login_with_2fa_opens_the_session_only_after_the_code(db):
    actor, secret, codes = _enrolled(db)
    with pytest.raises(logins.SecondFactorRequired) as step:
        logins.login(actor.email, PASSWORD, ip=IP, browser=BROWSER)
    assert db.exec(select(UserSession).where(UserSession.user_id == actor.user_id)).all() == []
    pending = step.value.pending
    with pytest.raises(InvalidCode):
        logins.login_second_step(pending, "000000" if _code(secret) != "000000" else "111111", ip=IP, browser=BROWSER)
    ticket, logged = logins.login_second_step(pending, _code(secret, steps=1), ip=IP, browser=BROWSER)
    assert logged.user_id == actor.user_id
    row = db.exec(select(UserSession).where(UserSession.user_id == actor.user_id)).one()
    token = sessions.redeem_login_ticket(ticket, browser=BROWSER)
    assert row.mfa and sessions.resolve_actor(token).user_id == actor.user_id
    with pytest.raises(logins.PendingExpired):  # the pending ticket is spent
        logins.login_second_step(pending, codes[0], ip=IP, browser=BROWSER)
    actions = db.exec(select(AuditLog.action).where(AuditLog.target_id == str(actor.user_id))).all()
    assert "auth.2fa_failed" in actions and "auth.login" in actions


def test_a_recovery_code_logs_in_once_and_is_audited(db):
    actor, _, codes = _enrolled(db)
    for attempt in range(2):
        with pytest.raises(logins.SecondFactorRequired) as step:
            logins.login(actor.email, PASSWORD, ip=IP, browser=BROWSER)
        if attempt == 0:
            logins.login_second_step(step.value.pending, codes[0], ip=IP, browser=BROWSER)
        else:
            with pytest.raises(InvalidCode):
                logins.login_second_step(step.value.pending, codes[0], ip=IP, browser=BROWSER)
    used = db.exec(select(AuditLog).where(AuditLog.action == "auth.recovery_code_used")).one()
    assert used.after["remaining"] == 9 and used.ip == IP


def test_too_many_wrong_codes_end_the_pending_step_and_feed_the_throttle(db):
    actor, secret, _ = _enrolled(db)
    with pytest.raises(logins.SecondFactorRequired) as step:
        logins.login(actor.email, PASSWORD, ip=IP, browser=BROWSER)
    wrong = "000000" if _code(secret) != "000000" else "111111"
    for _ in range(logins.PENDING_MAX_ATTEMPTS):
        with pytest.raises((InvalidCode, throttle.LoginThrottled)):
            logins.login_second_step(step.value.pending, wrong, ip=IP, browser=BROWSER)
    with pytest.raises((logins.PendingExpired, throttle.LoginThrottled)):
        logins.login_second_step(step.value.pending, _code(secret), ip=IP, browser=BROWSER)
    with pytest.raises(throttle.LoginThrottled):  # 5 wrong codes = 5 failures on the account
        logins.login(actor.email, PASSWORD, ip=IP, browser=BROWSER)


def test_an_expired_or_forged_pending_ticket_is_refused(db, redis_client):
    actor, secret, _ = _enrolled(db)
    with pytest.raises(logins.SecondFactorRequired) as step:
        logins.login(actor.email, PASSWORD, ip=IP, browser=BROWSER)
    ttl = redis_client.ttl(logins.PENDING_PREFIX + sessions.hash_token(step.value.pending))
    assert 0 < ttl <= 300
    for forged in ("forged", "x" * 500, ""):
        with pytest.raises(logins.PendingExpired):
            logins.login_second_step(forged, _code(secret), ip=IP, browser=BROWSER)
    with pytest.raises(InvalidCredentials):  # the code step never skips the password
        logins.login(actor.email, "wrong-password", ip=IP, browser=BROWSER)


def test_turning_2fa_off_needs_the_password_or_a_code(db):
    actor, secret, _ = _enrolled(db)
    with pytest.raises(InvalidCode):
        mfa.disable(db, actor=actor, password="not-it")
    with pytest.raises(InvalidCode):
        mfa.disable(db, actor=actor)
    mfa.disable(db, actor=actor, password=PASSWORD)
    db.commit()
    user = db.get(User, actor.user_id)
    assert not mfa.is_enabled(user) and user.totp_secret is None
    assert db.exec(select(RecoveryCode).where(RecoveryCode.user_id == actor.user_id)).all() == []
    assert db.exec(select(AuditLog).where(AuditLog.action == "auth.2fa_disabled")).one().after == {
        "proof": "password"}
    ticket, _ = logins.login(actor.email, PASSWORD, ip=IP, browser=BROWSER)  # no code step any more
    assert sessions.redeem_login_ticket(ticket, browser=BROWSER)


def test_the_secret_never_reaches_the_audit_log(db):
    actor, secret, codes = _enrolled(db)
    dump = " ".join(str((r.before, r.after)) for r in db.exec(select(AuditLog)).all())
    assert secret not in dump and not any(c in dump for c in codes)


async def test_the_login_form_asks_for_the_code_and_keeps_the_pending_ticket_server_side(db):
    from crm_app.state.login import LoginState
    from tests.support.isolation import fresh_state

    actor, secret, _ = _enrolled(db)
    _root, form = fresh_state(LoginState, None, browser=BROWSER)
    [_ async for _ in LoginState.submit.fn(form, {"email": actor.email, "password": PASSWORD})]
    assert form.step == "code" and form._pending and form.error_key == ""
    assert "_pending" not in form.get_delta().get(form.get_full_name(), {})  # a backend-only var
    [_ async for _ in LoginState.submit_code.fn(form, {"code": "12345x"})]
    assert form.error_key == "error.mfa_invalid_code" and form.step == "code"
    events = [e async for e in LoginState.submit_code.fn(form, {"code": _code(secret, steps=1)})]
    script = str(events[-1])
    assert "/api/auth/exchange" in script and "POST" in script and form._pending == ""
    ticket = re.search(r'"ticket": "([^"]+)"', script.replace('\\"', '"')).group(1)
    assert sessions.redeem_login_ticket(ticket, browser=BROWSER)  # bound to this tab's browser
