"""The standard form catalog: every document the system can issue, and nothing else.

The catalog is code, not data a tenant can change (カスタマイズ抑制): a form's template, its title
and its certification sentence are fixed here and in ``forms/templates``; the only per-tenant
inputs are the typed tenant parameters (mayor's title and name, seal image, fees).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenancy.parameters import CertificateFees


class FormKind(enum.StrEnum):
    RESIDENT_RECORD_COPY = "resident_record_copy"  # 住民票の写し
    RESIDENT_RECORD_EXTRACT = "resident_record_extract"  # 住民票記載事項証明書
    REMOVED_RECORD_COPY = "removed_record_copy"  # 除票の写し
    MOVE_OUT_CERTIFICATE = "move_out_certificate"  # 転出証明書
    MOVE_OUT_EQUIVALENT = "move_out_equivalent"  # 転出証明書に準ずる証明書
    DISASTER_DAMAGE = "disaster_damage_certificate"  # 罹災証明書
    TAX_CERTIFICATE = "tax_certificate"  # 所得・課税証明書
    NON_TAXABLE_CERTIFICATE = "non_taxable_certificate"  # 非課税証明書
    TAX_NOTICE = "tax_notice"  # 納税通知書（普通徴収）
    SPECIAL_COLLECTION_NOTICE = (
        "special_collection_notice"  # 特別徴収税額決定通知書（納税義務者用）
    )
    NHI_PREMIUM_NOTICE = "nhi_premium_notice"  # 国民健康保険税 納税通知書


@dataclass(frozen=True)
class FormSpec:
    kind: FormKind
    title: str
    template: str
    # The sentence printed once, above the seal, on the last page (J:1000); for a notice, the
    # sentence that gives notice of the decision.
    certification: str
    # Which fee of ``tenancy.parameters.CertificateFees`` applies; None for a notice, which is
    # sent, never sold.
    fee_field: str | None
    # What the document calls itself where it points to its verification ("この証明書の…").
    noun: str = "証明書"

    def fee(self, fees: CertificateFees) -> int:
        """The fee per copy under the tenant's fee ordinance (0 for a notice)."""
        if self.fee_field is None:
            return 0
        amount: int = getattr(fees, self.fee_field)
        return amount


CATALOG: dict[FormKind, FormSpec] = {
    spec.kind: spec
    for spec in (
        FormSpec(
            FormKind.RESIDENT_RECORD_COPY,
            "住民票の写し",
            "resident_record.html",
            "この写しは、住民票の原本と相違ないことを証明する。",
            "resident_record_copy",
        ),
        FormSpec(
            FormKind.RESIDENT_RECORD_EXTRACT,
            "住民票記載事項証明書",
            "resident_record.html",
            "上記の事項は、住民票の原本と相違ないことを証明する。",
            "resident_record_extract",
        ),
        FormSpec(
            FormKind.REMOVED_RECORD_COPY,
            "住民票の除票の写し",
            "resident_record.html",
            "この写しは、住民票の除票の原本と相違ないことを証明する。",
            "removed_record_copy",
        ),
        FormSpec(
            FormKind.MOVE_OUT_CERTIFICATE,
            "転出証明書",
            "move_out.html",
            "上記の者は、転出の届出をしたことを証明する。",
            "move_out_certificate",
        ),
        FormSpec(
            FormKind.MOVE_OUT_EQUIVALENT,
            "転出証明書に準ずる証明書",
            "move_out.html",
            "上記の者は、転出により住民票が消除されたことを証明する。",
            "move_out_certificate",
        ),
        FormSpec(
            FormKind.DISASTER_DAMAGE,
            "罹災証明書",
            "disaster_damage.html",
            "上記のとおり、被害の程度を証明する。",
            "disaster_damage_certificate",
        ),
        FormSpec(
            FormKind.TAX_CERTIFICATE,
            "所得・課税証明書",
            "inhabitant_tax_certificate.html",
            "上記のとおり相違ないことを証明する。",
            "tax_certificate",
        ),
        FormSpec(
            FormKind.NON_TAXABLE_CERTIFICATE,
            "非課税証明書",
            "inhabitant_tax_certificate.html",
            "上記のとおり非課税であることを証明する。",
            "tax_certificate",
        ),
        FormSpec(
            FormKind.TAX_NOTICE,
            "納税通知書",
            "inhabitant_tax_notice.html",
            "上記のとおり税額を決定したので、地方税法第319条の2の規定により通知します。",
            None,
            noun="通知書",
        ),
        FormSpec(
            FormKind.SPECIAL_COLLECTION_NOTICE,
            "特別徴収税額決定通知書（納税義務者用）",
            "special_collection_notice.html",
            "上記のとおり特別徴収税額を決定したので、地方税法第321条の4の規定により通知します。",
            None,
            noun="通知書",
        ),
        FormSpec(
            FormKind.NHI_PREMIUM_NOTICE,
            "国民健康保険税 納税通知書",
            "nhi_premium_notice.html",
            "上記のとおり国民健康保険税の税額を決定したので、地方税法第13条及び第706条の規定に"
            "より通知します。",
            None,
            noun="通知書",
        ),
    )
}

FORM_LABELS = {kind: spec.title for kind, spec in CATALOG.items()}


def spec(kind: FormKind | str) -> FormSpec:
    return CATALOG[FormKind(kind)]
