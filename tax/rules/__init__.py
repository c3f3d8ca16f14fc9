"""Pure rule functions of the inhabitant tax; each returns the figures of its step.

Nothing here touches the database or the clock: a rule takes facts and a fiscal year's
parameters and returns a frozen dataclass, so every step can be shown and tested on its own.
"""
