"""Inhabitant tax API (個人住民税). Thin routes: authorise, parse, call the rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from tax.simulation import SimulationInput, SimulationResult, simulate
from tenancy.auth import Principal
from tenancy.deps import require_roles
from tenancy.models import Role

router = APIRouter(prefix="/api/v1/tax", tags=["tax"])

Simulator = Annotated[
    Principal, Depends(require_roles(Role.TAX_OFFICER, Role.CLERK, Role.SUPERVISOR))
]


@router.post("/simulate", response_model=SimulationResult)
def simulate_tax(body: SimulationInput, who: Simulator) -> SimulationResult:
    """個人住民税の試算 (地方税法 第3章第1節・tax.md): 所得・控除・所得割・均等割・森林環境税の内訳.

    The body describes a household typed in by staff, not a resident's record: nothing is
    read from or stored in the register, and no audit entry is written (there is no personal
    data of the register to account for). Hence ``require_roles``, not
    ``personal_data_reader``.
    """
    return simulate(body)
