"""What every context stands on: actors, the audit log, real-time notes, rate limits, jobs, health.

A toolbox, not a context: callers import its modules (`from crm_app.services.core import audit`)."""
