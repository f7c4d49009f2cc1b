"""The settings registry: resolution order, validation, secrets at rest and who may change what."""

import json

import pytest
from sqlalchemy import text

from crm_app import crypto
from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.models import SettingChange, SettingValue
from crm_app.services import settings
from crm_app.services.settings import catalog
from tests.factories import make_tenant, make_user

IDLE = "security.session_idle_minutes"


def _operator(db, tenant_id):
    from dataclasses import replace

    return replace(make_user(db, tenant_id, "admin"), is_platform_operator=True)


def test_every_spec_has_a_valid_default_and_labels_in_both_languages():
    from crm_app.i18n import CATALOGUES

    for spec in catalog.SPECS:
        default = spec.default_value()
        if default is not None and spec.key != "ai.base_url":  # that one resolves its host: no DNS in tests
            spec.adapter.validate_python(default)
        for lang in CATALOGUES.values():
            assert spec.label_key in lang and spec.help_key in lang, spec.key


def test_resolution_goes_tenant_then_global_then_default(db):
    tenant, other = make_tenant(db), make_tenant(db)
    assert settings.value(db, IDLE, tenant_id=tenant.id) == 30
    assert settings.source(db, IDLE, tenant_id=tenant.id) == "default"

    settings.update(db, actor=None, changes={IDLE: 60}, tenant_id=None)
    db.commit()
    assert settings.value(db, IDLE, tenant_id=tenant.id) == 60
    assert settings.source(db, IDLE, tenant_id=tenant.id) == "global"

    settings.update(db, actor=None, changes={IDLE: 15}, tenant_id=tenant.id)
    db.commit()
    assert settings.value(None, IDLE, tenant_id=tenant.id) == 15
    assert settings.source(None, IDLE, tenant_id=tenant.id) == "tenant"
    assert settings.value(None, IDLE, tenant_id=other.id) == 60
    assert settings.value(None, IDLE, tenant_id=None) == 60

    settings.update(db, actor=None, changes={IDLE: None}, tenant_id=tenant.id)
    db.commit()
    assert settings.value(db, IDLE, tenant_id=tenant.id) == 60
    assert settings.values(db, [IDLE, "ai.model"], tenant_id=tenant.id) == {IDLE: 60, "ai.model": "gpt-4o-mini"}


def test_a_reading_inside_the_changing_transaction_sees_the_change_and_a_rollback_leaves_the_cache_clean(db):
    tenant = make_tenant(db)
    assert settings.value(db, IDLE, tenant_id=tenant.id) == 30  # warms the cache
    settings.update(db, actor=None, changes={IDLE: 20}, tenant_id=tenant.id)
    assert settings.value(db, IDLE, tenant_id=tenant.id) == 20
    db.rollback()
    assert settings.value(None, IDLE, tenant_id=tenant.id) == 30


def test_scope_rules_tenant_only_and_global_only_keys(db):
    tenant = make_tenant(db)
    with pytest.raises(ValidationError) as tenant_only:
        settings.update(db, actor=None, changes={"ai.model": "x"}, tenant_id=None)
    assert tenant_only.value.params["field"] == "ai.model"
    with pytest.raises(ValidationError) as global_only:
        settings.update(db, actor=None, changes={"system.trusted_proxies": "10.0.0.0/8"}, tenant_id=tenant.id)
    assert global_only.value.params["field"] == "system.trusted_proxies"


def test_an_invalid_value_in_a_batch_writes_nothing_and_names_every_bad_field(db):
    tenant = make_tenant(db)
    with pytest.raises(ValidationError) as caught:
        settings.update(db, actor=None, tenant_id=tenant.id, changes={
            "ai.model": "gpt-4.1", IDLE: 3, "security.require_2fa_roles": ["admin", "owner"], "nope.key": 1})
    errors = caught.value.params["errors"]
    assert set(errors) == {IDLE, "security.require_2fa_roles", "nope.key"}
    assert "5" in errors[IDLE]  # the lower bound is named
    assert errors["nope.key"] == "unknown setting"
    assert caught.value.params["field"] == IDLE
    db.commit()
    assert db.exec(text("SELECT count(*) FROM setting_values")).one()[0] == 0
    assert db.exec(text("SELECT count(*) FROM setting_changes")).one()[0] == 0
    assert settings.value(db, "ai.model", tenant_id=tenant.id) == "gpt-4o-mini"


def test_values_are_normalised_and_an_unchanged_value_records_nothing(db):
    tenant = make_tenant(db)
    rows = settings.update(db, actor=None, tenant_id=tenant.id, reason="  política  ",
                           changes={"security.require_2fa_roles": ["supervisor", "admin", "admin"], IDLE: "45"})
    db.commit()
    assert [(r.key, r.old_display, r.new_display, r.reason) for r in rows] == [
        ("security.require_2fa_roles", None, '["admin", "supervisor"]', "política"), (IDLE, None, "45", "política")]
    assert settings.value(db, "security.require_2fa_roles", tenant_id=tenant.id) == ["admin", "supervisor"]
    assert settings.update(db, actor=None, tenant_id=tenant.id, changes={IDLE: 45}) == []


def test_global_proxies_are_parsed_before_they_are_kept(db):
    with pytest.raises(ValidationError) as caught:
        settings.update(db, actor=None, tenant_id=None, changes={"system.trusted_proxies": "10.0.0.0/8,banana"})
    assert "banana" in caught.value.params["errors"]["system.trusted_proxies"]
    settings.update(db, actor=None, tenant_id=None, changes={"system.trusted_proxies": "10.0.0.0/8, 127.0.0.1"})
    db.commit()
    assert settings.value(db, "system.trusted_proxies", tenant_id=None) == "10.0.0.0/8, 127.0.0.1"


def test_a_secret_is_encrypted_at_rest_masked_in_history_and_decrypted_for_the_server(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    settings.update(db, actor=admin, tenant_id=tenant.id, changes={"ai.api_key": "sk-first-key"})
    db.commit()
    rows = settings.update(db, actor=admin, tenant_id=tenant.id, changes={"ai.api_key": "sk-second-key"})
    db.commit()
    assert (rows[0].old_display, rows[0].new_display) == (settings.MASK, settings.MASK)
    raw_value, raw_plain = db.exec(text("SELECT secret_value, value FROM setting_values")).one()
    assert raw_value.startswith(crypto.PREFIX) and "sk-second-key" not in raw_value and raw_plain is None
    assert json.loads(crypto.decrypt(raw_value)) == "sk-second-key"
    history = db.exec(text("SELECT old_value, new_value, old_secret FROM setting_changes ORDER BY id")).all()
    assert [h[:2] for h in history] == [(None, None), (None, None)]
    assert history[0][2] is None and history[1][2].startswith(crypto.PREFIX)
    assert "sk-first-key" not in history[1][2]
    audit = db.exec(text("SELECT before, after FROM audit_logs "
                          "JOIN audit_details USING (digest) WHERE action = 'settings.update'")).all()
    assert "sk-" not in json.dumps([list(a) for a in audit], default=str)
    assert settings.value(db, "ai.api_key", tenant_id=tenant.id) == "sk-second-key"


@pytest.mark.parametrize("key", ["sk-abc def", "sk-abc\r\nX-Injected: 1", "sk-\tabc", "x" * 501])
def test_a_secret_of_the_wrong_shape_is_refused_without_echoing_it_and_nothing_changes(db, key):
    """An API key goes into an HTTP header: a space, a line break or a tab inside it is a mistyped key (a refusal
    under the field now), not a connection error later at every bot turn."""
    tenant = make_tenant(db)
    settings.update(db, actor=None, tenant_id=tenant.id, changes={"ai.api_key": "sk-good-key"})
    db.commit()
    with pytest.raises(ValidationError) as caught:
        settings.update(db, actor=None, tenant_id=tenant.id, changes={"ai.api_key": key, IDLE: 45})
    assert caught.value.params["field"] == "ai.api_key" and set(caught.value.params["errors"]) == {"ai.api_key"}
    assert "abc" not in json.dumps(caught.value.params, default=str) and "abc" not in caught.value.message
    kind = caught.value.params["problems"]["ai.api_key"]["type"]
    assert kind == ("string_too_long" if len(key) > 500 else "one_word")  # the page words both
    db.rollback()
    assert settings.value(None, "ai.api_key", tenant_id=tenant.id) == "sk-good-key"
    assert settings.value(None, IDLE, tenant_id=tenant.id) == 30
    assert db.exec(text("SELECT count(*) FROM setting_changes")).one()[0] == 1


def test_attendants_and_supervisors_may_not_change_admin_settings(db):
    tenant = make_tenant(db)
    for role in ("attendant", "supervisor"):
        with pytest.raises(PermissionDenied):
            settings.update(db, actor=make_user(db, tenant.id, role), tenant_id=tenant.id, changes={IDLE: 45})
    assert db.exec(text("SELECT count(*) FROM setting_changes")).one()[0] == 0


def test_an_admin_of_another_tenant_gets_not_found(db):
    tenant, other = make_tenant(db), make_tenant(db)
    with pytest.raises(NotFound):
        settings.update(db, actor=make_user(db, other.id, "admin"), tenant_id=tenant.id, changes={IDLE: 45})
    with pytest.raises(NotFound):
        settings.update(db, actor=None, tenant_id=10_000, changes={IDLE: 45})


def test_global_values_need_a_platform_operator(db):
    tenant = make_tenant(db)
    with pytest.raises(PermissionDenied):
        settings.update(db, actor=make_user(db, tenant.id, "admin"), tenant_id=None, changes={IDLE: 45})
    operator = _operator(db, tenant.id)
    rows = settings.update(db, actor=operator, tenant_id=None, changes={IDLE: 45})
    db.commit()
    assert rows[0].actor_label == operator.label and rows[0].actor_user_id == operator.user_id
    assert db.get(SettingChange, rows[0].id).tenant_id is None
    assert db.exec(text("SELECT count(*) FROM setting_values WHERE tenant_id IS NULL")).one()[0] == 1


def test_one_row_per_key_and_scope_is_enforced_by_the_database(db):
    from sqlalchemy.exc import IntegrityError

    tenant = make_tenant(db)
    for tenant_id in (None, tenant.id):
        db.add(SettingValue(tenant_id=tenant_id, key=IDLE, value=10))
        db.add(SettingValue(tenant_id=tenant_id, key=IDLE, value=20))
        with pytest.raises(IntegrityError):
            db.flush()
        db.rollback()


def test_a_stored_value_that_no_longer_fits_its_type_is_ignored_on_read(db):
    tenant = make_tenant(db)
    db.add(SettingValue(tenant_id=tenant.id, key=IDLE, value="not a number"))
    db.commit()
    settings.publish_change()
    assert settings.value(None, IDLE, tenant_id=tenant.id) == 30


def test_the_bot_cap_that_protects_other_tenants_is_for_operators_only(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    with pytest.raises(PermissionDenied):
        settings.update(db, actor=admin, changes={"system.bot_tenant_concurrency": 100}, tenant_id=tenant.id)
    db.rollback()
    settings.update(db, actor=_operator(db, tenant.id), changes={"system.bot_tenant_concurrency": 4},
                    tenant_id=tenant.id)
    db.commit()
    assert settings.value(db, "system.bot_tenant_concurrency", tenant_id=tenant.id) == 4


def test_a_url_is_checked_against_the_network_when_written_never_when_read(db):
    from crm_app.integrations import outbound_urls

    tenant = make_tenant(db)
    with _private_outbound(db, False), outbound_urls.use_resolver(lambda host, port: ["10.1.2.3"]):
        with pytest.raises(ValidationError) as refused:  # a name that resolves to a private address
            settings.update(db, actor=None, changes={"ai.base_url": "https://ai.internal/v1"}, tenant_id=tenant.id)
        assert refused.value.params["field"] == "ai.base_url"
    with outbound_urls.use_resolver(lambda host, port: ["93.184.216.34"]):
        settings.update(db, actor=None, changes={"ai.base_url": "https://ai.example/v1"}, tenant_id=tenant.id)
    db.commit()

    def no_dns(host, port):
        raise OSError("no DNS at this moment")

    with outbound_urls.use_resolver(no_dns):  # a DNS hiccup when the cache refills keeps the tenant's URL
        settings.publish_change()
        assert settings.value(None, "ai.base_url", tenant_id=tenant.id) == "https://ai.example/v1"


class _private_outbound:  # noqa: N801 - used as a context manager
    def __init__(self, db, allowed: bool) -> None:
        self.db, self.allowed = db, allowed

    def __enter__(self):
        settings.update(self.db, actor=None, changes={"system.allow_private_outbound_urls": self.allowed},
                        tenant_id=None)
        self.db.commit()

    def __exit__(self, *exc):
        self.db.rollback()
        settings.update(self.db, actor=None, changes={"system.allow_private_outbound_urls": None}, tenant_id=None)
        self.db.commit()


def test_nothing_is_kept_longer_than_the_maximum_age_even_when_no_change_was_heard(db):
    from crm_app.services.settings.cache import MAX_AGE_SECONDS, ProcessCache, VersionWatch, read_version

    now = [1000.0]
    watch = VersionWatch(lambda: now[0], thread=False)  # this test polls for the thread
    cache = ProcessCache(clock=lambda: now[0], watch=watch)
    cache.put(None, {"k": 1}, version=cache.current_version())
    assert cache.get(None) == {"k": 1}
    now[0] += MAX_AGE_SECONDS - 1
    watch.poll()
    assert cache.get(None) == {"k": 1} and read_version() == cache.current_version()  # Redis said nothing
    now[0] += 2
    watch.poll()
    assert cache.get(None) is None  # a publication that never arrived is made up for


def test_a_read_never_waits_on_redis_and_a_silent_redis_makes_values_expire():
    """The token is read by the watcher's thread: a Redis that hangs (a socket that never answers) stalls that
    thread, never a read of the cache; once the last answer is stale, the cache stops trusting what it holds."""
    import socket
    import time as real_time

    from redis import Redis

    from crm_app.services.settings.cache import STALE_SECONDS, ProcessCache, VersionWatch

    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)  # connections are queued, never accepted, never answered
    port = hole.getsockname()[1]
    now = [50.0]
    watch = VersionWatch(lambda: now[0], connect=lambda: Redis(host="127.0.0.1", port=port, socket_timeout=30))
    watch.heard("token-1")
    cache = ProcessCache(clock=lambda: now[0], watch=watch)
    try:
        cache.put(7, {"k": 1}, version=cache.current_version())
        started = real_time.monotonic()
        for _ in range(2):  # the watcher's thread is polling the silent socket meanwhile
            now[0] += 0.6
            assert cache.get(7) == {"k": 1}
        now[0] += STALE_SECONDS
        assert cache.get(7) is None and cache.current_version() == "?"
        assert real_time.monotonic() - started < 5  # a read that asked Redis would hang for 30 s
    finally:
        hole.close()


def test_two_first_writes_of_one_key_at_once_both_succeed_one_after_the_other(db):
    """No row exists yet, so FOR UPDATE has nothing to lock: the second writer must wait for the first, not fail
    on the unique index."""
    import threading
    import time as real_time

    from sqlmodel import Session, select

    from crm_app.db import get_engine

    tenant = make_tenant(db)
    key = "security.session_idle_minutes"
    first = Session(get_engine(), expire_on_commit=False)
    settings.update(first, actor=None, changes={key: 40}, tenant_id=tenant.id)
    first_pid = first.exec(text("select pg_backend_pid()")).scalar_one()
    outcome: dict = {}

    def second_writer() -> None:
        try:
            with Session(get_engine()) as second:
                outcome["pid"] = second.exec(text("select pg_backend_pid()")).scalar_one()
                settings.update(second, actor=None, changes={key: 50}, tenant_id=tenant.id)
                second.commit()
            outcome["ok"] = True
        except Exception as exc:  # noqa: BLE001 - the test reports it
            outcome["error"] = exc

    writer = threading.Thread(target=second_writer)
    writer.start()
    deadline = real_time.monotonic() + 10
    while real_time.monotonic() < deadline:  # until the second writer waits on a lock the first one holds
        pid = outcome.get("pid")
        if pid and db.exec(text("select :blocker = any(pg_blocking_pids(:pid))"),
                           params={"blocker": first_pid, "pid": pid}).scalar_one():
            break
        db.rollback()
        real_time.sleep(0.02)
    else:
        raise AssertionError("the second writer never waited for the first")
    first.commit()
    first.close()
    writer.join(timeout=10)
    assert outcome == {"pid": outcome["pid"], "ok": True}
    db.expire_all()
    assert settings.value(db, key, tenant_id=tenant.id) == 50
    changes = db.exec(select(SettingChange).where(SettingChange.tenant_id == tenant.id,
                                                  SettingChange.key == key).order_by(SettingChange.id)).all()
    assert [(c.old_value, c.new_value) for c in changes] == [(None, 40), (40, 50)]
