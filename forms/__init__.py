"""Planned package: see docs/architecture.md."""
