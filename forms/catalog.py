"""The standard form catalog: every document the system can issue, and nothing else.

The catalog is code, not data a tenant can change (カスタマイズ抑制): a form's template, its title
and its certification sentence are fixed here and in ``forms/templates``; the only per-tenant
inputs are the typed tenant parameters (mayor's title and name, seal image, fees).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class FormKind(enum.StrEnum):
    RESIDENT_RECORD_COPY = "resident_record_copy"  # 住民票の写し
    RESIDENT_RECORD_EXTRACT = "resident_record_extract"  # 住民票記載事項証明書
    REMOVED_RECORD_COPY = "removed_record_copy"  # 除票の写し
    MOVE_OUT_CERTIFICATE = "move_out_certificate"  # 転出証明書
    MOVE_OUT_EQUIVALENT = "move_out_equivalent"  # 転出証明書に準ずる証明書
    DISASTER_DAMAGE = "disaster_damage_certificate"  # 罹災証明書


@dataclass(frozen=True)
class FormSpec:
    kind: FormKind
    title: str
    template: str
    # The sentence printed once, above the seal, on the last page (J:1000).
    certification: str
    # Which fee of ``tenancy.parameters.CertificateFees`` applies.
    fee_field: str


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
    )
}

FORM_LABELS = {kind: spec.title for kind, spec in CATALOG.items()}


def spec(kind: FormKind | str) -> FormSpec:
    return CATALOG[FormKind(kind)]
