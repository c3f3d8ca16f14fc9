"""Alembic revisions: one linear history, run as the database owner."""
