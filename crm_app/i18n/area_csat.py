"""Strings of one product area (CSAT: the survey the customer gets, its settings, the low-rating e-mail and the
analytics card), in both languages. Merged into the catalogues by `crm_app.i18n`.

The survey's own words (`csat.survey.*`) go to customers on WhatsApp in the language the tenant chose for the
survey; row titles stay within WhatsApp's 24 characters, the header within 60 and the button within 20.
"""

PT_BR: dict[str, str] = {
    "setting.csat.enabled": "Pesquisa de satisfação (CSAT) ao encerrar",
    "setting.csat.enabled.help": "Quando uma pessoa encerra a conversa e a janela de 24 h está aberta, o cliente "
                                 "recebe uma lista com notas de 1 a 5. Não é enviada quando o bot resolveu sozinho "
                                 "nem em encerramentos automáticos.",
    "setting.csat.min_gap_days": "Intervalo mínimo entre pesquisas do mesmo contato (dias)",
    "setting.csat.min_gap_days.help": "Um contato que recebeu uma pesquisa há menos tempo não recebe outra. 0: sem "
                                      "intervalo.",
    "setting.csat.comment_minutes": "Tempo para o comentário (minutos)",
    "setting.csat.comment_minutes.help": "Depois da nota, a próxima mensagem de texto dentro deste tempo é guardada "
                                         "como comentário. 0: não pede comentário.",
    "setting.csat.language": "Idioma da pesquisa",
    "setting.csat.language.help": "O idioma dos textos padrão que o cliente recebe.",
    "setting.csat.question": "Texto da pesquisa",
    "setting.csat.question.help": "Vazio: o texto padrão do idioma escolhido.",
    "setting.csat.comment_prompt": "Pedido de comentário",
    "setting.csat.comment_prompt.help": "Enviado depois da nota. Vazio: o texto padrão.",
    "setting.csat.thanks": "Agradecimento",
    "setting.csat.thanks.help": "Enviado depois do comentário (ou da nota, sem comentário). Vazio: o texto padrão.",
    "csat.survey.header": "Pesquisa de satisfação",
    "csat.survey.body": "Como foi o seu atendimento? Toque em Avaliar e escolha uma nota de 1 a 5.",
    "csat.survey.button": "Avaliar",
    "csat.survey.row.1": "1 Péssimo",
    "csat.survey.row.2": "2 Ruim",
    "csat.survey.row.3": "3 Regular",
    "csat.survey.row.4": "4 Bom",
    "csat.survey.row.5": "5 Excelente",
    "csat.survey.comment_prompt": "Obrigado pela nota! Se quiser, conte em uma mensagem o que podemos melhorar.",
    "csat.survey.thanks": "Obrigado pela sua avaliação!",
    "csat.mail.low.title": "Avaliação {rating} de 5 em uma conversa",
    "csat.mail.low.body": "{contact} deu nota {rating} de 5 ao atendimento de {attendant} (conversa {conversation})."
                          " Vale entrar em contato.",
    "csat.mail.nobody": "ninguém",
    "analytics.card.csat": "Satisfação (CSAT)",
    "analytics.tip.csat": "Média das notas (1 a 5) das pesquisas enviadas no período e respondidas.",
    "analytics.card.csat_response": "Respostas à pesquisa",
    "analytics.tip.csat_response": "Pesquisas respondidas ÷ pesquisas enviadas no período.",
    "analytics.col.csat": "CSAT",
    "analytics.col.csat_rate": "Respostas",
    "analytics.col.csat_spread": "Notas 1–5",
    "analytics.tip.csat_spread": "Quantas notas 1, 2, 3, 4 e 5.",
    "analytics.chart.csat": "Notas de satisfação (1 a 5)",
    "analytics.series.ratings": "Notas",
}

EN: dict[str, str] = {
    "setting.csat.enabled": "Satisfaction survey (CSAT) on close",
    "setting.csat.enabled.help": "When a person closes the conversation and the 24 h window is open, the customer "
                                 "gets a list with ratings from 1 to 5. Never sent when the bot solved it alone or "
                                 "on automatic closes.",
    "setting.csat.min_gap_days": "Minimum gap between surveys to one contact (days)",
    "setting.csat.min_gap_days.help": "A contact who got a survey more recently gets none. 0: no gap.",
    "setting.csat.comment_minutes": "Time to leave a comment (minutes)",
    "setting.csat.comment_minutes.help": "After the rating, the next text message within this time is kept as the "
                                         "comment. 0: no comment is asked for.",
    "setting.csat.language": "Survey language",
    "setting.csat.language.help": "The language of the default texts the customer gets.",
    "setting.csat.question": "Survey text",
    "setting.csat.question.help": "Empty: the default text of the chosen language.",
    "setting.csat.comment_prompt": "Comment request",
    "setting.csat.comment_prompt.help": "Sent after the rating. Empty: the default text.",
    "setting.csat.thanks": "Thank-you note",
    "setting.csat.thanks.help": "Sent after the comment (or the rating, with no comment). Empty: the default text.",
    "csat.survey.header": "Satisfaction survey",
    "csat.survey.body": "How was our service? Tap Rate us and pick a rating from 1 to 5.",
    "csat.survey.button": "Rate us",
    "csat.survey.row.1": "1 Very poor",
    "csat.survey.row.2": "2 Poor",
    "csat.survey.row.3": "3 Fair",
    "csat.survey.row.4": "4 Good",
    "csat.survey.row.5": "5 Excellent",
    "csat.survey.comment_prompt": "Thanks for the rating! If you like, tell us in one message what we can do better.",
    "csat.survey.thanks": "Thank you for your feedback!",
    "csat.mail.low.title": "A conversation rated {rating} out of 5",
    "csat.mail.low.body": "{contact} rated the service of {attendant} {rating} out of 5 (conversation "
                          "{conversation}). Worth getting in touch.",
    "csat.mail.nobody": "nobody",
    "analytics.card.csat": "CSAT",
    "analytics.tip.csat": "Average rating (1 to 5) of the surveys sent in the period that were answered.",
    "analytics.card.csat_response": "Survey responses",
    "analytics.tip.csat_response": "Surveys answered ÷ surveys sent in the period.",
    "analytics.col.csat": "CSAT",
    "analytics.col.csat_rate": "Responses",
    "analytics.col.csat_spread": "Ratings 1–5",
    "analytics.tip.csat_spread": "How many ratings of 1, 2, 3, 4 and 5.",
    "analytics.chart.csat": "Satisfaction ratings (1 to 5)",
    "analytics.series.ratings": "Ratings",
}
