"""The part of a Reflex app the real-time registry reads: which socket each client token is on."""


class FakeNamespace:
    def __init__(self, tokens):
        self.token_to_sid = {t: f"sid-{t}" for t in tokens}


class FakeApp:
    def __init__(self, tokens):
        self.event_namespace = FakeNamespace(tokens)
