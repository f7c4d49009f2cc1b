"""The tamper-evident audit trail: sealing the hash chain, verifying it, anchoring its head outside the
database, recording reads, the readable search, and the incident register.

Entries are written by `crm_app.services.core.audit.record` (unchanged signature, in the caller's transaction);
this package chains, checks and reads them.
"""
