"""Numbers in the reader's language."""

from crm_app.domain.numfmt import format_change, format_number, format_percent, separators


def test_portuguese_uses_a_dot_for_thousands_and_a_comma_for_decimals():
    assert format_number(1234567, "pt-BR") == "1.234.567"
    assert format_number(1234.5, "pt-BR", 1) == "1.234,5"
    assert format_percent(0.0, "pt-BR") == "0,0%" and format_percent(0.125, "pt-BR") == "12,5%"
    assert format_change(-1.25, "pt-BR", 1, " p.p.") == "−1,2 p.p." and format_change(12, "pt-BR", 0, "%") == "+12%"
    assert separators("pt-BR") == ",."


def test_english_uses_a_comma_for_thousands_and_a_dot_for_decimals():
    assert format_number(1234567, "en") == "1,234,567"
    assert format_number(1234.5, "en", 1) == "1,234.5"
    assert format_percent(0.125, "en") == "12.5%" and format_percent(None, "en") == "—"
    assert separators("en") == ".,"
