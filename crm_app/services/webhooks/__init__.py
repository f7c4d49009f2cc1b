"""Outgoing webhooks: endpoints, the transactional outbox, signed deliveries and replay."""
