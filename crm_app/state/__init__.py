"""Reflex state: thin handlers that call one service and keep DTOs in vars."""
