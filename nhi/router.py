"""NHI API (国民健康保険). Thin routes: authorise, parse, call the rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from nhi.simulation import SimulationInput, SimulationResult, simulate
from tenancy.auth import Principal
from tenancy.deps import require_roles
from tenancy.models import Role

router = APIRouter(prefix="/api/v1/nhi", tags=["nhi"])

Simulator = Annotated[
    Principal, Depends(require_roles(Role.NHI_OFFICER, Role.CLERK, Role.SUPERVISOR))
]


@router.post("/simulate", response_model=SimulationResult)
def simulate_nhi(body: SimulationInput, who: Simulator) -> SimulationResult:
    """国民健康保険料（税）の試算 (国民健康保険法76条・地方税法703条の4・nhi.md): 区分ごとの内訳.

    ``members[0]`` is the head of the household (世帯主, liable for the premium). Set
    ``head_insured`` to false (or the head's ``insured``) for a 擬制世帯主: the head's income then
    counts for the 7割・5割・2割 reduction test only. ``rates`` are the municipality's rates
    (所得割率 as a percentage, 均等割額, 平等割額, optional 資産割率, 賦課限度額, 端数処理); a
    賦課限度額 above the fiscal year's national cap is refused with 422
    ``nhi_cap_above_national``. Each component returns 所得割, 資産割, 均等割, 平等割, the
    reduction, the cap applied and the rounded amount; ``total`` adds the rounded components.

    The body describes a household typed in by staff, not a resident's record: nothing is read
    from or stored in the register, and no audit entry is written. Hence ``require_roles``, not
    ``personal_data_reader``.
    """
    return simulate(body)
