"""The inhabitant tax's reactions to the register (same transaction as the residency event).

地方税法318条: the tax of a fiscal year is levied where the person lived on its 1 January, and
the assessment reads the register as of that day — so a person who moves out after 1 January
stays assessed here and one who died before it is not, without any reaction. What needs one is
a change *dated before* a 1 January whose year is already assessed, registered late (a death
reported weeks later, a 職権 removal, a cancelled move-in): the people it touches and their
households are reassessed at once (更正, or a cancelling revision for someone who turns out
not to have been a taxpayer here), in the register's own transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core.uow import UnitOfWork
from resident_records.events import ResidentEvent
from tax.assessment_service import reassess
from tax.models import AssessmentRun
from tenancy import service as tenancy_service


def reassess_after_late_change(event: ResidentEvent, uow: UnitOfWork) -> None:
    """地方税法318条・17条の5: a register change dated before an assessed 賦課期日 → 更正."""
    # Years are assessed in their own calendar year: a change dated on or after this year's
    # 1 January can touch no assessed 賦課期日, which spares the common case any query.
    if event.effective_on >= dt.date(event.occurred_at.year, 1, 1) or not event.person_ids:
        return
    session = uow.session
    years = sorted(
        y
        for y in session.scalars(select(AssessmentRun.fiscal_year).distinct())
        if event.effective_on < dt.date(y, 1, 1)
    )
    if not years:
        return
    _version, params = tenancy_service.current_parameters(session)
    for year in years:
        reassess(session, year, event.person_ids, params)
