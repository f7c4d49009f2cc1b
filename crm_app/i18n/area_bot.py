"""Strings of one product area (bot), in both languages. Merged into the catalogues by `crm_app.i18n`."""

PT_BR: dict[str, str] = {
    "bot.system.close": "O bot encerrou a conversa",
    "bot.system.inactivity": "O bot encerrou a conversa por falta de resposta do cliente",
    "bot.error.flow_invalid": "O fluxo tem problemas: corrija-os antes de publicar.",
    "bot.error.no_draft": "Salve um rascunho antes de publicar.",
    "bot.error.flow_too_big": "O fluxo deve ser um objeto JSON de até 200 KB.",
}

EN: dict[str, str] = {
    "bot.system.close": "The bot closed the conversation",
    "bot.system.inactivity": "The bot closed the conversation because the customer stopped answering",
    "bot.error.flow_invalid": "The flow has problems: fix them before publishing.",
    "bot.error.no_draft": "Save a draft before publishing.",
    "bot.error.flow_too_big": "The flow must be a JSON object of at most 200 KB.",
}
