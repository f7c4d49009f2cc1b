"""The sandbox: fake outside services (Meta's Graph API and webhooks, OpenAI, SMTP).

For now it serves its own health and a landing page; the fakes arrive with the
features that need them.
"""
