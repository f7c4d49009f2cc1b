from crm_app.i18n import CATALOGUES, translate


def test_every_language_has_every_key():
    keys = {lang: set(cat) for lang, cat in CATALOGUES.items()}
    assert keys["pt-BR"] == keys["en"]
    assert all(value.strip() for cat in CATALOGUES.values() for value in cat.values())


def test_unknown_language_falls_back_to_portuguese():
    assert translate("xx", "nav.inbox") == "Atendimento"
    assert translate("en", "nav.inbox") == "Inbox"
