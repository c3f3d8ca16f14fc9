"""Who is assessed here: the residents on 1 January of the fiscal year (賦課期日).

地方税法39条 and 318条: the inhabitant tax of a fiscal year is levied by the municipality where the
person had their address on 1 January. The register is read as of that date (the version then in
force, as the register knows it now), so a person who moved out after 1 January stays assessed
here, one who moved in after it is not, and one who died before it is not. Non-residents with
taxable income here (住登外者) are added from the income records when those are stored.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from resident_records.queries import ResidentOn, residents_on


def assessment_date(fiscal_year: int) -> dt.date:
    """賦課期日: 1 January of the fiscal year (地方税法39条, 318条)."""
    return dt.date(fiscal_year, 1, 1)


def resident_taxpayers(session: Session, fiscal_year: int) -> list[ResidentOn]:
    """The residents of the session's municipality on the fiscal year's 賦課期日 (法318条)."""
    return residents_on(session, assessment_date(fiscal_year))
