"""Template broadcasts to consenting segments, paced to Meta's limits."""
