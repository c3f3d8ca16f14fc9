"""Ages as NHI reads them: 介護 months, 後期高齢者 at 75, 未就学児, the child-support exemption.

Months are the twelve months of the fiscal year (April to March). A charge runs from the month in
which a status begins up to the month before the one in which it ends (月割, nhi.md "Mid-year").
"""

from __future__ import annotations

import datetime as dt

from nhi.rules.parameters import NhiParameters
from tax.rules.ages import age_on


def attains_age_on(birth_date: dt.date, age: int) -> dt.date:
    """年齢計算ニ関スル法律: the day a person attains ``age`` (the day before the birthday)."""
    # A 29 February birthday in a common year: the age is attained on 28 February all the
    # same, as the day before 1 March.
    year = birth_date.year + age
    try:
        birthday = birth_date.replace(year=year)
    except ValueError:
        birthday = dt.date(year, 3, 1)
    return birthday - dt.timedelta(days=1)


def first_march_31_from(day: dt.date) -> dt.date:
    """The first 31 March on or after ``day`` (the end of the school year it falls in)."""
    march_31 = dt.date(day.year, 3, 31)
    return march_31 if day <= march_31 else dt.date(day.year + 1, 3, 31)


def month_index(day: dt.date, params: NhiParameters) -> int:
    """The month of ``day`` counted from April of the fiscal year (April = 0, March = 11)."""
    return (day.year - params.fiscal_year) * 12 + day.month - 4


def _months_within(first: int, stop: int) -> int:
    # Months first..stop-1 that fall inside the fiscal year's 0..11.
    return max(0, min(stop, 12) - max(first, 0))


def age_at_start(birth_date: dt.date, params: NhiParameters) -> int:
    """The age on 1 April of the fiscal year (the day the reduction test is judged on)."""
    return age_on(birth_date, params.fiscal_year_start)


def months_from_birth(birth_date: dt.date, params: NhiParameters) -> int:
    """国民健康保険法7条 (出生の日に資格取得): the months a person can be insured since birth."""
    return _months_within(month_index(birth_date, params), 12)


def months_before_late_elderly(birth_date: dt.date, params: NhiParameters) -> int:
    """高齢者の医療の確保に関する法律50条・52条: NHI months before 後期高齢者医療 begins.

    後期高齢者医療 begins on the 75th birthday, which is also the day NHI is lost (国保法6条1号);
    the premium runs up to the month before (a birthday on the 1st included).
    """
    birthday = attains_age_on(birth_date, params.ages.late_elderly) + dt.timedelta(days=1)
    return _months_within(0, month_index(birthday, params))


def long_term_care_months(birth_date: dt.date, params: NhiParameters) -> int:
    """介護保険法9条2号・地方税法703条の4: months in which the person is a 第2号被保険者 (40–64).

    From the month containing the day 40 is attained, up to the month before the one containing
    the day 65 is attained (a birthday on the 1st therefore moves both a month earlier).
    """
    ages = params.ages
    first = month_index(attains_age_on(birth_date, ages.long_term_care_from), params)
    stop = month_index(attains_age_on(birth_date, ages.long_term_care_until), params)
    return _months_within(first, stop)


def preschool(birth_date: dt.date, params: NhiParameters) -> bool:
    """地方税法703条の5の2・国保法施行令29条の7の3 (未就学児): before primary school all year.

    義務教育就学前 = up to the 31 March after the day 6 is attained (学校教育法17条). That date
    is always a 31 March, so a child is preschool for the whole fiscal year or none of it.
    """
    school_year_end = first_march_31_from(attains_age_on(birth_date, params.ages.school_entry))
    return school_year_end >= params.fiscal_year_end


def child_support_exempt(birth_date: dt.date, params: NhiParameters) -> bool:
    """子ども・子育て支援法 (支援納付金): no 均等割 up to the 31 March after 18 is attained."""
    adult_from = first_march_31_from(attains_age_on(birth_date, params.ages.child_support_adult))
    return adult_from >= params.fiscal_year_end
