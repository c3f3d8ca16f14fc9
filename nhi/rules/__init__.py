"""Pure rule functions of NHI premiums (国民健康保険料・税); each returns the figures of its step.

Nothing here touches the database or the clock: a rule takes facts, a fiscal year's national
parameters and the municipality's rates, and returns a frozen dataclass, so every step can be
shown and tested on its own.
"""
