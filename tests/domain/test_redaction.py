"""PII redaction: real-looking CPF, CNPJ, phones, e-mails and cards go; prices, dates and room numbers stay."""

import pytest

from crm_app.domain.redaction import CARD, CNPJ, CPF, EMAIL, PHONE, cnpj_ok, cpf_ok, luhn_ok, redact


@pytest.mark.parametrize("text", [
    "meu cpf é 529.982.247-25",
    "CPF: 52998224725",
    "cpf 111.444.777-35 por favor",
    "cpf 390 533 447 05",
    "cpf 529982247-25",
    "CPF123.456.789-09",  # glued to the word, wrong check digits: still someone's
    "o número é 12345678909",  # bare, 11 digits, not phone-shaped
])
def test_cpf_is_redacted(text):
    out = redact(text)
    assert CPF in out
    assert not any(run in out for run in ("529", "52998224725", "444.777", "390 533", "12345678909", "456.789"))


@pytest.mark.parametrize("text", [
    "CNPJ 11.222.333/0001-81",
    "cnpj: 11222333000181",
    "empresa 04.567.123/0001-60 ltda",
])
def test_cnpj_is_redacted(text):
    out = redact(text)
    assert CNPJ in out
    assert "0001" not in out


@pytest.mark.parametrize("text", [
    "+55 11 98123-4567",
    "+55 (11) 98123-4567",
    "+5511981234567",
    "5511981234567",
    "55 11 98123 4567",
    "(11) 98123-4567",
    "(21)98765-4321",
    "11 98123-4567",
    "11981234567",
    "(11) 3456-7890",
    "1134567890",
    "11 9 8123-4567",
    "98123-4567",
    "9 8123-4567",
    "3456-7890",
    "+55 11 8123-4567",  # before the 9th digit
    "551181234567",
    "+1 (415) 555-0100",
    "+44 20 7946 0958",
    "(11) 98123.4567",
])
def test_phones_are_redacted(text):
    out = redact(f"me liga no {text} amanhã")
    assert PHONE in out, out
    assert "4567" not in out and "7890" not in out and "0100" not in out and "0958" not in out, out
    assert out.startswith("me liga no ") and out.endswith(" amanhã")


@pytest.mark.parametrize("text", [
    "maria.souza@gmail.com",
    "joao+reservas@empresa.com.br",
    "ANA_1990@hotmail.com",
    "contato@hotel-sol.tur.br",
])
def test_emails_are_redacted(text):
    out = redact(f"meu e-mail: {text}.")
    assert out == f"meu e-mail: {EMAIL}."


@pytest.mark.parametrize("text", [
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4111111111111111",
    "5555 5555 5555 4444",
    "3782 822463 10005",
    "378282246310005",
    "4012 8888 8888 1881",
    "3056 930902 5904",
    "6011111111111117",
])
def test_cards_are_redacted(text):
    out = redact(f"cartão {text} validade 12/27")
    assert out == f"cartão {CARD} validade 12/27", out


def test_card_followed_by_a_small_number_is_still_caught():
    assert redact("cartão 4111 1111 1111 1111 2 parcelas") == f"cartão {CARD} 2 parcelas"


def test_a_16_digit_number_failing_luhn_is_not_a_card():
    assert CARD not in redact("protocolo 1234567812345678")


@pytest.mark.parametrize("text", [
    "A diária custa R$ 350,00 e o pacote R$ 1.234,56.",
    "Check-in em 25/12/2024 às 14:00, check-out 27/12 às 12h.",
    "Reserva de 2024-12-25 a 2024-12-28.",
    "Quarto 1204, andar 12, 2 adultos e 1 criança.",
    "Quartos 301 e 302, pedido nº 483920.",
    "Temporada 2024-2025 com 15% de desconto.",
    "CEP 01310-100, Av. Paulista 1578.",
    "O Wi-Fi é HotelSol2024 e a senha 8 dígitos.",
    "Valor total: R$ 12.345.678,90",
    "Chego às 10:30 do dia 03/01/2025, voo LA3456.",
    "Estacionamento R$ 40 por dia, vagas 1 a 120.",
    "",
])
def test_ordinary_numbers_survive(text):
    assert redact(text) == text


def test_mixed_message_keeps_the_words():
    text = ("Oi, sou Maria (CPF 529.982.247-25), e-mail maria@ex.com, tel (11) 98123-4567. "
            "Quero o quarto 1204 de 25/12 a 27/12 por R$ 350,00. Cartão 4111 1111 1111 1111.")
    out = redact(text)
    assert out == (f"Oi, sou Maria (CPF {CPF}), e-mail {EMAIL}, tel {PHONE}. "
                   f"Quero o quarto 1204 de 25/12 a 27/12 por R$ 350,00. Cartão {CARD}.")


def test_redact_is_idempotent():
    once = redact("cpf 52998224725 fone 11981234567 mail a@b.co")
    assert redact(once) == once


def test_checksums():
    assert cpf_ok("52998224725") and not cpf_ok("52998224726") and not cpf_ok("11111111111")
    assert cnpj_ok("11222333000181") and not cnpj_ok("11222333000182")
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
