"""What a Graph API error means for us: retry the send later, or give up and tell the attendant why.

Meta asks integrators to key on the error `code`, not on the HTTP status
(§4.9 of shared/reference/whatsapp_cloud_api.md), so a known code decides; the
status only matters for codes we do not know, or when no error body came back.
"""

from __future__ import annotations

from dataclasses import dataclass

# Meta's "the customer stopped marketing messages": the compliance context records the withdrawal.
MARKETING_OPTED_OUT = 131050


@dataclass(frozen=True)
class MetaErrorInfo:
    """How to treat one Meta error.

    Attributes:
        code: Meta's error code, or None when no error body came back.
        retryable: True when the same request may succeed later unchanged.
        reason_pt: A short reason in Brazilian Portuguese, for attendants.
        reason_en: The same reason in English.
    """

    code: int | None
    retryable: bool
    reason_pt: str
    reason_en: str


_RETRY = True
_PERMANENT = False
_PERMISSION = (
    _PERMANENT,
    "O aplicativo não tem permissão para enviar por este número. Avise o administrador.",
    "Permission is either not granted or has been removed.",
)
_WINDOW_CLOSED = (
    _PERMANENT,
    "Mais de 24 horas desde a última mensagem do cliente. Envie um modelo aprovado.",
    "More than 24 hours since the customer's last message. Send an approved template.",
)

# Codes and meanings from §4.10 of the reference, except 1 and 2: Graph API's generic "unknown error" and
# "service temporarily unavailable", which the reference does not list.
_KNOWN: dict[int, tuple[bool, str, str]] = {
    0: (_PERMANENT, "A Meta não conseguiu autenticar o aplicativo. Avise o administrador.",
        "Meta could not authenticate the app user."),
    1: (_RETRY, "Erro desconhecido na API da Meta.", "Unknown error in Meta's API."),
    2: (_RETRY, "Serviço da Meta temporariamente indisponível.", "Meta's service is temporarily unavailable."),
    4: (_RETRY, "O aplicativo atingiu o limite de chamadas à API da Meta.", "The app reached its API call rate limit."),
    10: _PERMISSION,
    100: (_PERMANENT, "A mensagem tem um parâmetro inválido ou não suportado.",
          "The request included an unsupported or misspelled parameter."),
    190: (_PERMANENT, "O token de acesso à Meta expirou ou é inválido. Avise o administrador.",
          "The access token has expired or is invalid."),
    368: (_PERMANENT, "A conta foi bloqueada temporariamente pela Meta por violar políticas.",
          "Temporarily blocked for policy violations."),
    # The On-Premises API's code for a closed window; Cloud API says 131047, but old relays may still send 470.
    470: _WINDOW_CLOSED,
    80007: (_RETRY, "A conta do WhatsApp Business atingiu o limite de chamadas.",
            "The WhatsApp Business Account reached its rate limit."),
    130429: (_RETRY, "Limite de mensagens por segundo do número atingido.",
             "Cloud API message throughput has been reached."),
    130472: (_PERMANENT, "A Meta não enviou: o número do cliente participa de um experimento da Meta.",
             "Not sent because the customer's number is part of a Meta experiment."),
    130497: (_PERMANENT, "A conta não pode enviar mensagens para clientes deste país.",
             "The account is restricted from messaging users in this country."),
    131000: (_RETRY, "A Meta teve uma falha desconhecida ao enviar a mensagem.",
             "Message failed to send due to an unknown error."),
    131005: _PERMISSION,
    131008: (_PERMANENT, "Falta um dado obrigatório na mensagem.", "The request is missing a required parameter."),
    131009: (_PERMANENT, "Um ou mais dados da mensagem são inválidos.", "One or more parameter values are invalid."),
    131016: (_RETRY, "Serviço da Meta temporariamente indisponível.", "A Meta service is temporarily unavailable."),
    131021: (_PERMANENT, "O número do cliente é o mesmo número que está enviando.",
             "Sender and recipient phone number are the same."),
    131026: (_PERMANENT, "Não foi possível entregar: o número pode não ter WhatsApp ou o aplicativo do cliente "
             "está desatualizado.", "Message undeliverable: the number may not be on WhatsApp, or its app is old."),
    131030: (_PERMANENT, "O número do cliente não está na lista de destinatários permitidos do número de teste.",
             "The recipient is not in the test number's allowed list."),
    131031: (_PERMANENT, "A conta do WhatsApp Business foi bloqueada pela Meta. Avise o administrador.",
             "The business account has been locked."),
    131042: (_PERMANENT, "Há um problema com a forma de pagamento da conta na Meta. Avise o administrador.",
             "There was an error related to the payment method."),
    131045: (_PERMANENT, "Erro no registro do número de telefone da empresa. Avise o administrador.",
             "Message failed to send due to a phone number registration error."),
    131047: _WINDOW_CLOSED,
    131048: (_PERMANENT, "O número da empresa está com envios restritos por denúncias de spam.",
             "Spam rate limit hit: this number's sending is restricted."),
    131049: (_PERMANENT, "A Meta não entregou esta mensagem de marketing para preservar a experiência do cliente. "
             "Tente de novo daqui a 24 horas.", "Not delivered to maintain healthy ecosystem engagement."),
    131050: (_PERMANENT, "O cliente pediu para não receber mensagens de marketing.",
             "The customer chose to stop receiving marketing messages."),
    131051: (_PERMANENT, "Tipo de mensagem não suportado.", "Unsupported message type."),
    131052: (_PERMANENT, "Não foi possível baixar a mídia enviada pelo cliente.",
             "Unable to download the media sent by the customer."),
    131053: (_PERMANENT, "Não foi possível enviar a mídia: formato ou tamanho não suportado.",
             "Unable to upload the media used in the message."),
    131056: (_RETRY, "Muitas mensagens para este cliente em pouco tempo. Aguarde alguns instantes.",
             "Too many messages to this customer in a short time (pair rate limit)."),
    # §6.1: the account is in maintenance for up to a minute while its throughput is upgraded.
    131057: (_RETRY, "A conta do WhatsApp Business está em manutenção. Aguarde um minuto.",
             "The business account is in maintenance mode."),
    132000: (_PERMANENT, "A quantidade de variáveis não confere com o modelo aprovado.",
             "The number of parameters does not match the template."),
    132001: (_PERMANENT, "O modelo não existe neste idioma ou ainda não foi aprovado.",
             "The template does not exist in this language or is not approved."),
    132005: (_PERMANENT, "O texto do modelo ficou longo demais com as variáveis preenchidas.",
             "The translated template text is too long."),
    132007: (_PERMANENT, "O conteúdo viola a política de caracteres dos modelos.",
             "The template's character policy was violated."),
    132012: (_PERMANENT, "O formato das variáveis não confere com o modelo aprovado.",
             "The parameter format does not match the template."),
    132015: (_PERMANENT, "O modelo está pausado pela Meta.", "The template is paused."),
    132016: (_PERMANENT, "O modelo foi desativado pela Meta.", "The template is disabled."),
    132018: (_PERMANENT, "Há um problema com as variáveis do modelo.",
             "There is an issue with the template's parameters."),
    133010: (_PERMANENT, "O número da empresa não está registrado no WhatsApp. Avise o administrador.",
             "The business phone number is not registered."),
    135000: (_PERMANENT, "Erro desconhecido nos dados da mensagem.",
             "Unknown error with the request parameters."),
}


def classify(code: int | None, http_status: int | None = None) -> MetaErrorInfo:
    """Decide whether a failed Graph API call is worth retrying, and why it failed.

    Args:
        code: ``error.code`` from Meta's error body, or None when there was no body.
        http_status: The HTTP status, or None when no response arrived (timeout, network error).

    Returns:
        A known code's verdict; otherwise retryable for 408, 429, 5xx and for no
        response at all, permanent for anything else, with a reason naming the code.
    """
    if code is not None and code in _KNOWN:
        return MetaErrorInfo(code, *_KNOWN[code])
    if code is not None and 200 <= code <= 299:
        return MetaErrorInfo(code, *_PERMISSION)
    if code is None and http_status is None:
        return MetaErrorInfo(None, True, "A Meta não respondeu a tempo ou houve falha de rede.",
                             "No response from Meta (timeout or network error).")
    if _transient_status(http_status):
        return _unknown_transient(code, http_status)
    return _unknown_permanent(code, http_status)


def _transient_status(http_status: int | None) -> bool:
    """Timeouts, throttling and server errors: statuses where the same request may work later."""
    return http_status is not None and (http_status in (408, 429) or 500 <= http_status <= 599)


def _unknown_transient(code: int | None, http_status: int) -> MetaErrorInfo:
    label = f"HTTP {http_status}" if code is None else f"erro {code}, HTTP {http_status}"
    return MetaErrorInfo(
        code,
        True,
        f"Falha temporária na Meta ({label}).",
        f"Temporary failure at Meta ({label.replace('erro', 'error')}).",
    )


def _unknown_permanent(code: int | None, http_status: int | None) -> MetaErrorInfo:
    """An error we have no entry for; retrying an unexplained refusal would only repeat it."""
    if code is None:
        return MetaErrorInfo(
            None, False, f"A Meta recusou a mensagem (HTTP {http_status}).",
            f"Meta refused the message (HTTP {http_status}).",
        )
    return MetaErrorInfo(
        code, False, f"A Meta recusou a mensagem (erro {code}).", f"Meta refused the message (error {code})."
    )
