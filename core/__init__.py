"""Shared kernel: settings, database, errors, crypto, audit, events, Japanese helpers."""
