"""The new-password rules: length, the common list, personal data; no composition rules."""

import pytest

from crm_app.domain import passwords
from crm_app.domain.passwords import password_problems


def test_the_common_list_holds_at_least_the_top_3000_in_order():
    lines = passwords.DATA_FILE.read_text().split()
    assert len(lines) >= 3000 and lines[:4] == ["123456", "123456789", "qwerty", "password"]
    assert len(passwords.common_passwords()) >= 3000


@pytest.mark.parametrize("password", ["password", "PASSWORD", "12345678", "iloveyou", "Qwerty123", "senha123",
                                      "pass word", "mudar123"])
def test_common_passwords_are_refused_whatever_their_case(password):
    assert "password.common" in password_problems(password)


def test_too_short_is_refused_and_length_counts_characters():
    assert password_problems("k7#Pq2x") == ["password.too_short"]
    assert password_problems("çãõéíóúâ") == []  # 8 characters, 16 bytes


def test_no_composition_rules_a_long_lowercase_phrase_is_fine():
    assert password_problems("cavalo correto bateria grampo") == []
    assert password_problems("x" * 20 + "zebra") == []


def test_long_passwords_up_to_bcrypts_72_bytes_are_allowed_and_longer_ones_are_refused_clearly():
    assert password_problems("a-long-passphrase " * 4) == []  # 72 bytes
    assert password_problems("b" * 64 + "ção") == []  # 64+ characters, 70 bytes
    assert password_problems("c" * 73) == ["password.too_long"]
    assert password_problems("é" * 37) == ["password.too_long"]  # 37 characters but 74 bytes
    assert passwords.fits_bcrypt("d" * 72) and not passwords.fits_bcrypt("d" * 73)


@pytest.mark.parametrize("password", ["joao.silva", "JoaoSilva2024!", "silva1234", "joao.silva@empresa.com.br",
                                      "xjoaosilvax", "Joãozinho"[:4] + "silva99"])
def test_passwords_made_of_the_email_or_name_are_refused(password):
    problems = password_problems(password, email="joao.silva@empresa.com.br", name="João Silva")
    assert problems in (["password.personal"], ["password.common"]), (password, problems)
    assert problems == ["password.personal"] or password.lower() in passwords.common_passwords()


def test_unrelated_passwords_pass_with_the_personal_check():
    assert password_problems("guarda-chuva azul 7", email="joao.silva@empresa.com.br", name="João Silva") == []
    assert password_problems("demo1234", email="admin@demo.local", name="Alice Admin") == []


def test_every_problem_key_has_both_languages():
    from crm_app.i18n import EN, PT_BR

    for key in ("password.too_short", "password.too_long", "password.common", "password.personal"):
        assert PT_BR[key] and EN[key]
