import pytest

from crm_app.domain.meta_errors import MetaErrorInfo, classify


@pytest.mark.parametrize("code", [1, 2, 4, 80007, 130429, 131000, 131016, 131056, 131057])
def test_retryable_codes(code):
    info = classify(code, 400)
    assert info.code == code
    assert info.retryable is True


@pytest.mark.parametrize("code", [
    0, 10, 100, 190, 200, 250, 299, 368, 470, 130472, 130497, 131005, 131008, 131009, 131021, 131026, 131030,
    131031, 131042, 131045, 131047, 131048, 131049, 131050, 131051, 131052, 131053, 132000, 132001, 132005, 132007,
    132012, 132015, 132016, 132018, 133010, 135000,
])
def test_permanent_codes(code):
    info = classify(code, 400)
    assert info.code == code
    assert info.retryable is False


def test_every_known_code_has_both_reasons_and_no_generic_text():
    for code in (1, 4, 100, 190, 130429, 131026, 131047, 131056, 132000, 132001, 133010):
        info = classify(code)
        assert info.reason_pt and info.reason_en
        assert "recusou" not in info.reason_pt
        assert str(code) not in info.reason_pt


def test_window_closed_reason():
    assert classify(131047, 400) == MetaErrorInfo(
        code=131047,
        retryable=False,
        reason_pt="Mais de 24 horas desde a última mensagem do cliente. Envie um modelo aprovado.",
        reason_en="More than 24 hours since the customer's last message. Send an approved template.",
    )


def test_specific_reasons():
    assert classify(130429).reason_pt == "Limite de mensagens por segundo do número atingido."
    assert classify(132001).reason_pt == "O modelo não existe neste idioma ou ainda não foi aprovado."
    assert classify(190, 401).reason_en == "The access token has expired or is invalid."
    assert classify(131056).reason_en == "Too many messages to this customer in a short time (pair rate limit)."


def test_permission_range_shares_one_reason():
    assert classify(10).reason_pt == classify(200).reason_pt == classify(299).reason_pt
    assert classify(300, 400).retryable is False
    assert "300" in classify(300, 400).reason_pt


def test_known_code_decides_over_the_http_status():
    assert classify(131047, 500).retryable is False
    assert classify(130429, 400).retryable is True


def test_unknown_code_with_4xx_is_permanent_and_names_the_code():
    info = classify(999999, 400)
    assert info == MetaErrorInfo(999999, False, "A Meta recusou a mensagem (erro 999999).",
                                 "Meta refused the message (error 999999).")


def test_unknown_code_without_status_is_permanent():
    assert classify(424242).retryable is False


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599])
def test_5xx_is_retryable(status):
    info = classify(None, status)
    assert info.retryable is True
    assert info.code is None
    assert f"HTTP {status}" in info.reason_pt


def test_unknown_code_with_5xx_is_retryable():
    info = classify(999999, 503)
    assert info.retryable is True
    assert info.reason_pt == "Falha temporária na Meta (erro 999999, HTTP 503)."
    assert info.reason_en == "Temporary failure at Meta (error 999999, HTTP 503)."


@pytest.mark.parametrize("status", [408, 429])
def test_timeout_and_throttling_statuses_are_retryable(status):
    assert classify(None, status).retryable is True


def test_no_response_is_a_retryable_timeout():
    assert classify(None) == MetaErrorInfo(None, True, "A Meta não respondeu a tempo ou houve falha de rede.",
                                           "No response from Meta (timeout or network error).")
    assert classify(None, None).retryable is True


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_4xx_without_code_is_permanent(status):
    info = classify(None, status)
    assert info.retryable is False
    assert info.reason_pt == f"A Meta recusou a mensagem (HTTP {status})."


def test_info_is_frozen():
    with pytest.raises(AttributeError):
        classify(100).retryable = True
