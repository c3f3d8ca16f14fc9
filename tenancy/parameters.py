"""Tenant parameters: the only settings a municipality may change (カスタマイズ抑制).

One typed, versioned model with ``extra="forbid"``: a tenant cannot add a field, a template or a
code path, only choose values for the fields below. Every change is a new version, audited.
"""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from nhi.rules.rates import NhiRates

SCHEMA_VERSION = 1

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Yen = Annotated[int, Field(ge=0, le=10_000)]


class Kyuchi(enum.StrEnum):
    """生活保護基準の級地 (used by the inhabitant tax's non-taxable threshold)."""

    K1_1 = "1級地-1"
    K1_2 = "1級地-2"
    K2_1 = "2級地-1"
    K2_2 = "2級地-2"
    K3_1 = "3級地-1"
    K3_2 = "3級地-2"


class CertificateFees(BaseModel):
    """Fees (手数料) set by each municipality's fee ordinance, in yen per copy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    resident_record_copy: Yen = 300
    resident_record_extract: Yen = 300
    removed_record_copy: Yen = 300
    move_out_certificate: Yen = 0
    disaster_damage_certificate: Yen = 0
    tax_certificate: Yen = 300


class TenantParameters(BaseModel):
    """Everything a municipality may set. Anything else is the standard and the same for all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mayor_title: ShortText = Field(default="市長", description="証明書に印字する首長の職名")
    mayor_name: ShortText = Field(default="（未設定）", description="証明書に印字する首長の氏名")
    seal_image_png_base64: str | None = Field(
        default=None, max_length=200_000, description="公印の画像 (PNG, Base64)"
    )
    fees: CertificateFees = Field(default_factory=CertificateFees)
    kyuchi: Kyuchi = Field(default=Kyuchi.K3_2, description="生活保護基準の級地")
    counter_hours: ShortText = Field(default="8:30〜17:15", description="窓口の受付時間")
    # Checked against the fiscal year's national caps when used (nhi.rules.rates.check_rates).
    nhi: NhiRates | None = Field(default=None, description="国民健康保険料（税）の料率・限度額")


def default_for_kind(kind: str) -> TenantParameters:
    """Sensible first values: the mayor's title follows the kind of municipality."""
    title = {"町": "町長", "村": "村長", "特別区": "区長"}.get(kind, "市長")
    return TenantParameters(mayor_title=title)
