"""Background jobs and the periodic scheduler. Never imports Reflex."""
