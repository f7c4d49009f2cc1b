"""Encrypted backups, schedules, retention and verified test restores."""
