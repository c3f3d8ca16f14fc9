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
import uuid
from collections.abc import Iterable

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


def _reassess_before_commit(uow: UnitOfWork, year: int, person_ids: Iterable[uuid.UUID]) -> None:
    """Gather the persons a unit of work's events touch and reassess their households once,
    before the commit: a household of four moving in changes four qualifications, and each
    reassessment reads and rewrites the whole household."""
    key = ("nhi.reassess", uow.tenant, year)
    persons: set[uuid.UUID] | None = uow.cache.get(key)
    if persons is None:
        persons = uow.cache[key] = set()
        gathered = persons
        uow.once_before_commit(key, lambda: _reassess(uow, year, gathered))
    persons.update(person_ids)


def _reassess(uow: UnitOfWork, year: int, persons: set[uuid.UUID]) -> None:
    # Later events of the same unit of work (handled after this) gather anew.
    del uow.cache[("nhi.reassess", uow.tenant, year)]
    reassess(uow.session, year, sorted(persons))


def reassess_on_qualification_change(event: QualificationChanged, uow: UnitOfWork) -> None:
    """地方税法706条3項・4項・17条の5: a qualification change after the annual run → 更正."""
    earliest = min(event.acquired_on, event.lost_on or event.acquired_on)
    for year in _assessed_years(uow):
        if earliest <= _fiscal_year_end(year):
            _reassess_before_commit(uow, year, [event.person_id])


def reassess_after_late_register_change(event: ResidentEvent, uow: UnitOfWork) -> None:
    """地方税法706条: a register change dated before an assessed 1 April → 更正."""
    # Years are assessed from their own April: a change dated on or after this year's 1 April
    # can touch no assessed 賦課期日, which spares the common case any query.
    if event.effective_on >= dt.date(event.occurred_at.year, 4, 1) or not event.person_ids:
        return
    for year in _assessed_years(uow):
        if event.effective_on < dt.date(year, 4, 1):
            _reassess_before_commit(uow, year, event.person_ids)
