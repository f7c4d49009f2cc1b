"""LGPD/GDPR: the consent ledger, data-subject requests, erasure and retention."""
