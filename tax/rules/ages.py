"""Ages as the tax law reads them."""

from __future__ import annotations

import datetime as dt

from tax.rules.parameters import TaxParameters


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """年齢計算ニ関スル法律: the age on ``on`` (a year is gained the day before the birthday)."""
    # The year is gained at the end of the day before the birthday, so the age on a day is
    # the calendar age on the next day.
    day = on + dt.timedelta(days=1)
    # A 29 February birthday compares as (2, 29) > (2, 28): the year is gained on 1 March's eve.
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def age_at_year_end(birth_date: dt.date, params: TaxParameters) -> int:
    """地方税法314条の2 (前年12月31日の現況): the age deductions are judged by."""
    return age_on(birth_date, params.year_end)


def age_at_assessment_date(birth_date: dt.date, params: TaxParameters) -> int:
    """地方税法295条1項2号 (賦課期日現在の未成年者): the age on 1 January of the fiscal year."""
    # One day later than the deductions' 31 December: someone born on 2 January turns 18 in
    # between and is an adult for 295条 but not yet for the deductions.
    return age_on(birth_date, params.assessment_date)
