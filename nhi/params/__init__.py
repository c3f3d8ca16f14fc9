"""Parameter files of NHI premiums, one per fiscal year (``fy2025.json``, ``fy2026.json``).

Loaded and validated by :mod:`nhi.rules.parameters`; rules read these figures, never literals.
"""
