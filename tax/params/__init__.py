"""Parameter files, one per fiscal year (``fy2025.json``, ``fy2026.json``).

Loaded and validated by :mod:`tax.rules.parameters`; rules read these figures, never literals.
"""
