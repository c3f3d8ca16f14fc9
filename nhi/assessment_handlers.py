"""The NHI premium's reactions (same transaction as the change that causes them).

A qualification acquired, lost, voided or restored after the year's annual run changes the
months of its household (月割): the household is reassessed at once (更正, 地方税法17条の5) and the
earlier revision stays in the history — a move-out at the counter and the corrected premium
commit together or not at all. Wired in ``jichitai.bootstrap``.

The register's own changes matter on the household's reference date (1 April, 地方税法706条):
a change dated before an assessed year's 1 April but registered late (a death reported weeks
later, a cancelled move-in) reassesses the persons it touches. Later household changes move no
premium within the year (nhi.assessment_service), which spares the counter's everyday events
any query.
"""

from __future__ import annotations

import datetime as dt

from core.uow import UnitOfWork
from nhi.assessment_service import assessed_years, reassess
from nhi.events import QualificationChanged
from resident_records.events import ResidentEvent


def _fiscal_year_end(year: int) -> dt.date:
    return dt.date(year + 1, 3, 31)


def _assessed_years(uow: UnitOfWork) -> list[int]:
    """The assessed years, read once per unit of work and without a flush (the runs table is
    written by the annual run only, never in a unit of work with events)."""
    key = ("nhi.assessed_years", uow.tenant)
    if key not in uow.cache:
        with uow.session.no_autoflush:
            uow.cache[key] = assessed_years(uow.session)
    years: list[int] = uow.cache[key]
    return years


def reassess_on_qualification_change(event: QualificationChanged, uow: UnitOfWork) -> None:
    """地方税法706条3項・4項・17条の5: a qualification change after the annual run → 更正."""
    session = uow.session
    earliest = min(event.acquired_on, event.lost_on or event.acquired_on)
    for year in _assessed_years(uow):
        if earliest <= _fiscal_year_end(year):
            reassess(session, year, [event.person_id])


def reassess_after_late_register_change(event: ResidentEvent, uow: UnitOfWork) -> None:
    """地方税法706条: a register change dated before an assessed 1 April → 更正."""
    # Years are assessed from their own April: a change dated on or after this year's 1 April
    # can touch no assessed 賦課期日, which spares the common case any query.
    if event.effective_on >= dt.date(event.occurred_at.year, 4, 1) or not event.person_ids:
        return
    session = uow.session
    for year in _assessed_years(uow):
        if event.effective_on < dt.date(year, 4, 1):
            reassess(session, year, event.person_ids)
