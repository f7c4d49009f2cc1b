"""Pure rules: no session, no network, no Reflex, no clock."""
