"""The sandbox: fake outside services for dev, tests and demos.

For now it fakes Meta's WhatsApp Cloud API (Graph API sends, media, templates) and Meta's
webhook sender, with a control API under `/sandbox/api` and a customer simulator page at `/`; an
SMTP server that captures every message (`smtp.py`), read at `/mail`.
"""
