"""Executive analytics: per-conversation facts and the figures built on them."""
