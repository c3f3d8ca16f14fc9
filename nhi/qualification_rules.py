"""NHI qualification dates and eligibility (国民健康保険法 5条〜8条). Pure functions.

Dates are 資格取得日 (the first day insured) and 資格喪失日 (the first day no longer insured), as
the law and the insurance card state them.

Decisions (the law leaves these to the facts the municipality knows):

* **Who acquires on a move-in.** 法5条 makes every resident insured unless 法6条 excludes them.
  The register knows age; staff record employee insurance and livelihood assistance. So each
  moved-in person acquires on the move-in date when, on that date, they are under 75 and have no
  recorded employee insurance or livelihood assistance in force. A person who in fact brought
  employee insurance with them is voided by recording it (the acquisition stays in history).
* **Who acquires on a birth.** A newborn is insured under the same scheme as the family: the
  child acquires on the birth date when a member of the household the child is born into holds
  an NHI qualification on that date; otherwise the child is taken to be a dependant (被扶養者)
  of employee insurance (法6条), or covered by the household's livelihood assistance, and
  acquires nothing.
* **Move-out.** Lost on the move-out date (a new address elsewhere begins that day: 法8条1項
  ただし書). Emigration and 職権消除 leave no address in another municipality, so the main rule
  applies: lost the day after.
* **Birth dates of uncertain form** (大正10年頃) use the register's representative date (the first
  day of the stated period); 年月日不詳 has no date and is never treated as 75 or over.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

LATE_ELDERLY_AGE = 75  # 高齢者の医療の確保に関する法律50条
ONE_DAY = dt.timedelta(days=1)


def birthday_in(birth: dt.date, year: int) -> dt.date:
    """The birthday in ``year``; 29 February falls on 1 March in a common year
    (年齢計算ニ関スル法律: the age is reached at the end of 28 February)."""
    try:
        return birth.replace(year=year)
    except ValueError:
        return dt.date(year, 3, 1)


def late_elderly_from(birth: dt.date) -> dt.date:
    """後期高齢者医療 starts on the 75th birthday (高齢者医療確保法50条・52条); NHI is lost that
    day (法6条8号・法8条), so the person is NHI-insured up to the day before."""
    return birthday_in(birth, birth.year + LATE_ELDERLY_AGE)


def is_late_elderly(birth: dt.date | None, on: dt.date) -> bool:
    """Covered by 後期高齢者医療 on ``on`` (法6条8号: excluded from NHI)."""
    return birth is not None and late_elderly_from(birth) <= on


def acquired_on_move_in(moved_in_on: dt.date) -> dt.date:
    """転入: acquired on the day the person takes up an address (法7条)."""
    return moved_in_on


def acquired_on_birth(born_on: dt.date) -> dt.date:
    """出生: acquired on the date of birth (法7条)."""
    return born_on


def acquired_after_employee_insurance(left_on: dt.date) -> dt.date:
    """社会保険離脱: ``left_on`` is the last day covered (退職日); employee insurance is lost the
    next day and NHI acquired that same day (法6条1号〜7号に該当しなくなった日, 法7条)."""
    return left_on + ONE_DAY


def acquired_after_livelihood_assistance(ended_on: dt.date) -> dt.date:
    """生活保護廃止: ``ended_on`` is the 廃止日, the first day without assistance; NHI is acquired
    that day (法6条9号に該当しなくなった日, 法7条)."""
    return ended_on


def lost_on_move_out(moved_out_on: dt.date) -> dt.date:
    """転出: lost on the move-out date, the day the new address begins (法8条1項ただし書)."""
    return moved_out_on


def lost_on_emigration(emigrated_on: dt.date) -> dt.date:
    """国外転出: no address in Japan from that day; lost the next day (法8条1項)."""
    return emigrated_on + ONE_DAY


def lost_on_removal(removed_on: dt.date) -> dt.date:
    """職権消除: the address is found to have ended; lost the next day (法8条1項)."""
    return removed_on + ONE_DAY


def lost_on_death(died_on: dt.date) -> dt.date:
    """死亡: lost the day after death (法8条1項: 住所を有しなくなった日の翌日)."""
    return died_on + ONE_DAY


def lost_on_joining_employee_insurance(joined_on: dt.date) -> dt.date:
    """社会保険加入: lost the day after joining (法6条1号〜7号, 法8条1項: 該当するに至った日の
    翌日)."""
    return joined_on + ONE_DAY


def lost_on_livelihood_assistance(started_on: dt.date) -> dt.date:
    """生活保護開始: lost on the day assistance starts (法6条9号, 法8条2項)."""
    return started_on


@dataclass(frozen=True)
class Circumstances:
    """What decides eligibility on one date (法5条・6条)."""

    resident: bool
    birth_date: dt.date | None
    employee_insurance: bool  # recorded employee insurance in force
    livelihood_assistance: bool  # recorded livelihood assistance in force


def eligible(c: Circumstances, on: dt.date) -> bool:
    """Insured under NHI on ``on``: a resident (法5条) not excluded by 法6条 (other insurance,
    後期高齢者医療, livelihood assistance)."""
    return (
        c.resident
        and not c.employee_insurance
        and not c.livelihood_assistance
        and not is_late_elderly(c.birth_date, on)
    )


def newborn_acquires(household_insured: bool) -> bool:
    """A newborn joins NHI when a member of its household is NHI-insured on the birth date
    (法5条; otherwise a dependant of employee insurance, 法6条)."""
    return household_insured
