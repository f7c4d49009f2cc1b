import pytest

from crm_app.domain.phones import normalize_wa_id


@pytest.mark.parametrize("raw, expected", [
    ("5511912345678", "+5511912345678"),
    ("5511981234567", "+5511981234567"),
    ("551181234567", "+5511981234567"),   # the same mobile without the ninth digit
    ("+55 (11) 91234-5678", "+5511912345678"),
    ("551132345678", "+551132345678"),   # a São Paulo landline keeps 12 digits
    ("972987654321", "+972987654321"),
])
def test_normalize_wa_id(raw, expected):
    assert normalize_wa_id(raw) == expected


@pytest.mark.parametrize("raw", ["", "123", "1" * 16])
def test_refuses_impossible_numbers(raw):
    with pytest.raises(ValueError):
        normalize_wa_id(raw)
