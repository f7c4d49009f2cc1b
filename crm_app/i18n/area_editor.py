"""Strings of one product area (editor), in both languages. Merged into the catalogues by `crm_app.i18n`."""

PT_BR: dict[str, str] = {
}

EN: dict[str, str] = {
}
