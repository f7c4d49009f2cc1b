"""Pure consent and privacy rules: opt-out words, the current state, wamid hashing, due dates."""

import base64
import datetime as dt

from crm_app.domain import consent as rules
from crm_app.domain.calendar import HolidayCalendar

WORDS = rules.DEFAULT_OPT_OUT_WORDS


def test_opt_out_words_in_portuguese_and_spanish_whatever_the_case_and_punctuation():
    for said in ("SAIR", "sair", " Sair! ", "parar.", "Cancelar", "STOP", "baja", "Baja!", "¡BAJA!"):
        assert rules.is_opt_out(said, WORDS), said


def test_a_sentence_that_contains_an_opt_out_word_is_not_an_opt_out():
    for said in ("não quero sair", "quero cancelar minha reserva", "stop it please", "", None, "1"):
        assert not rules.is_opt_out(said, WORDS), said


def test_a_tenant_word_with_an_accent_matches_without_it():
    assert rules.is_opt_out("nao quero mais", ["Não quero mais"])


def test_the_latest_fact_per_purpose_wins_and_unasked_purposes_are_none():
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    state = rules.current_state([rules.ConsentFact("marketing", True, at), rules.ConsentFact("marketing", False, at),
                                 rules.ConsentFact("pesquisa", True, at)])
    assert state == {"atendimento": None, "marketing": False, "pesquisa": True}


def test_a_hashed_wamid_keeps_uniqueness_and_no_longer_decodes_to_the_phone():
    wamid = "wamid.HBgNNTU0ODk5OTk5MDAwMRUCABIYFjNFQjBEN0QzQjRGRkY0NjY1RUYzAA=="
    assert b"5548999990001" in base64.b64decode(wamid.removeprefix("wamid."))
    key = b"k" * 32
    hashed = rules.hash_wamid(wamid, key)
    assert hashed.startswith(rules.ERASED_WAMID_PREFIX) and "5548999990001" not in hashed
    assert "HBgN" not in hashed
    assert rules.hash_wamid(wamid, key) == hashed  # the same id always gives the same value
    assert rules.hash_wamid(wamid[:-3] + "BA==", key) != hashed
    assert rules.hash_wamid(hashed, key) == hashed  # hashing twice changes nothing
    assert rules.hash_wamid(wamid, b"o" * 32) != hashed  # keyed: another tenant's key gives another value


def test_a_calendar_day_deadline_that_ends_on_a_holiday_moves_to_the_next_business_day():
    calendar = HolidayCalendar()
    # 5 Nov 2026 + 15 days = Friday 20 Nov 2026, Consciência Negra (national since 2024): due Monday 23.
    due = rules.next_open_day(rules.due_date(dt.date(2026, 11, 5), 15), calendar)
    assert due == dt.date(2026, 11, 23)


def test_a_business_day_deadline_skips_weekends_and_the_holiday():
    calendar = HolidayCalendar()
    # From Monday 16 Nov 2026, 5 business days: 17, 18, 19, (20 holiday), 23, 24.
    assert rules.due_date_business(dt.date(2026, 11, 16), 5, calendar) == dt.date(2026, 11, 24)


def test_due_soon_from_three_days_before():
    today = dt.date(2026, 12, 1)
    assert rules.is_due_soon(dt.date(2026, 12, 4), today)
    assert not rules.is_due_soon(dt.date(2026, 12, 5), today)
    assert rules.is_due_soon(dt.date(2026, 11, 30), today)


def test_a_phone_is_found_in_base64_whatever_bytes_come_before_it_and_its_wamids_are_hashed():
    phone, key = "5548999990001", b"k" * 32
    forms = rules.phone_in_base64(phone)
    for before in (b"", b"\x1c", b"\x1c\x18", b"\x1c\x18\x0d"):
        encoded = base64.b64encode(before + phone.encode() + b"\x15\x02rest").decode()
        assert any(form in encoded for form in forms), before
    wamid = "wamid." + base64.b64encode(b"\x1c\x18\x0d" + phone.encode() + b"\x15\x02\x00\x12").decode()
    other = "wamid." + base64.b64encode(b"\x1c\x18\x0d5511977770002\x15\x02\x00\x12").decode()
    text = f'{{"wa_message_id": "{wamid}", "context": "{other}"}}'
    cleaned = rules.forget_wamids(text, [phone], key, "[apagado]")
    assert wamid not in cleaned and rules.hash_wamid(wamid, key) in cleaned and other in cleaned
    assert not any(form in cleaned for form in forms)


def test_a_neighbours_wamid_that_shares_a_base64_form_is_left_alone():
    """5511999998887's wamid holds the base64 form of 5511999998888's first 12 digits: decoding tells them apart."""
    phone, neighbour, key = "5511999998888", "5511999998887", b"k" * 32
    theirs = "wamid." + base64.b64encode(b"\x1c\x18\x0d" + neighbour.encode() + b"\x15\x02\x00\x12").decode()
    mine = "wamid." + base64.b64encode(b"\x1c\x18\x0d" + phone.encode() + b"\x15\x02\x00\x12").decode()
    assert any(form in theirs for form in rules.phone_in_base64(phone))  # the form alone would match
    text = f'{{"a": "{theirs}", "b": "{mine}", "bare": "{mine[6:]}"}}'
    cleaned = rules.forget_wamids(text, [phone], key, "[apagado]")
    assert theirs in cleaned and mine not in cleaned and rules.hash_wamid(mine, key) in cleaned
    assert '"bare": "[apagado]"' in cleaned
    assert not rules.mentions_phone(theirs, [phone]) and rules.mentions_phone(mine, [phone])
