"""The standard form catalog and its rendering (see docs/architecture.md, Forms)."""
