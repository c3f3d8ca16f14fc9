"""The form catalog's integrity: the manifest, the start-up check, and no way to swap a template.

No database is needed here: the app state is built from throw-away settings (its engine is lazy
and never connects), so the start-up check runs exactly as in production.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import routing as fastapi_routing
from pydantic import ValidationError

from core.settings import Settings
from forms import manifest
from forms.catalog import CATALOG, FormKind, spec
from forms.manifest import CatalogTampered
from jichitai.app import create_app
from jichitai.state import AppState
from tenancy.parameters import CertificateFees, TenantParameters
from tenancy.schemas import ParametersUpdate

SHIPPED = {
    "_base.html",
    "forms.css",
    "resident_record.html",
    "move_out.html",
    "disaster_damage.html",
    "_tax_tables.html",
    "inhabitant_tax_certificate.html",
    "inhabitant_tax_notice.html",
    "special_collection_notice.html",
    "nhi_premium_notice.html",
}


def _copy(tmp_path: Path) -> Path:
    """A copy of the shipped catalog, to tamper with."""
    target = tmp_path / "templates"
    shutil.copytree(manifest.TEMPLATE_DIR, target)
    return target


def _settings(tmp_path: Path) -> Settings:
    var = tmp_path / "var"
    return Settings(
        database_url=f"sqlite:///{var / 'never-opened.db'}",
        var_dir=var,
        master_key=base64.b64encode(os.urandom(32)).decode(),
    )


def _use_catalog(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """Point the start-up check at ``directory`` (checked against the shipped manifest).

    ``AppState.form_sources`` has ``manifest.verified_sources`` itself as its default factory and
    that function's defaults were bound when it was defined, so patching the module constants
    would change nothing: the function's defaults are what a process really uses.
    """
    monkeypatch.setattr(
        manifest.verified_sources, "__defaults__", (directory, manifest.MANIFEST_PATH)
    )


def _record() -> dict[str, Any]:
    return {
        "address": "富山県射水市新開発410番地1",
        "persons": [
            {
                "name": "射水 太郎",
                "kana": "イミズ タロウ",
                "birth_date": "昭和50年4月1日",
                "sex": "男",
                "became_resident_on": "平成10年4月1日",
                "address_since": "平成10年4月1日",
                "notified_on": "平成10年4月1日",
                "previous_address": "富山県富山市新桜町7番38号",
            }
        ],
        "omitted": [],
    }


def _context() -> dict[str, Any]:
    return {
        "issuer": {
            "name": "射水市",
            "prefecture": "富山県",
            "title": "射水市長",
            "mayor_name": "夏野 元志",
            "seal": None,
        },
        "document": {
            "serial": "162116-2026-0000001",
            "issued_on": "2026-11-27",
            "issued_on_text": "令和8年11月27日",
            "reissue": False,
            "sample": False,
            "acting_issuer": None,
            "qr": "data:image/png;base64,",
        },
        "record": _record(),
    }


# --- the shipped catalog -----------------------------------------------------------------------


def test_the_shipped_catalog_matches_its_manifest() -> None:
    sources = manifest.verified_sources()
    assert set(sources) == SHIPPED
    assert set(manifest.load()) == SHIPPED
    assert manifest.compute() == manifest.load()
    # The text handed to the renderer is the checked bytes, every one of them.
    for name, text in sources.items():
        data = (manifest.TEMPLATE_DIR / name).read_bytes()
        assert text == data.decode("utf-8")
        assert manifest.digest(text.encode("utf-8")) == manifest.load()[name]
    assert "@page" in sources["forms.css"]
    assert "{% block content %}" in sources["_base.html"]


def test_the_manifest_is_sha256_and_every_form_template_is_in_it() -> None:
    body = json.loads(manifest.MANIFEST_PATH.read_text(encoding="utf-8"))
    assert body["algorithm"] == "sha256"
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in body["files"].values())
    assert {form.template for form in CATALOG.values()} <= set(body["files"])


def test_an_untouched_copy_passes(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    assert manifest.verified_sources(copy, manifest.MANIFEST_PATH) == manifest.verified_sources()


# --- a tampered catalog ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(
            lambda t: t.replace("{% endblock %}", "<p>{{ record }}</p>{% endblock %}"),
            id="a-field-added",
        ),
        pytest.param(lambda t: t + "\n", id="a-trailing-newline"),
        pytest.param(lambda t: t.replace("\n", "\r\n"), id="line-endings"),
    ],
)
def test_an_edited_template_is_refused_and_named(
    tmp_path: Path, edit: Callable[[str], str]
) -> None:
    copy = _copy(tmp_path)
    target = copy / "resident_record.html"
    target.write_bytes(edit(target.read_text(encoding="utf-8")).encode("utf-8"))
    with pytest.raises(CatalogTampered) as caught:
        manifest.verified_sources(copy, manifest.MANIFEST_PATH)
    message = str(caught.value)
    assert message.startswith("標準様式のファイルが改変されているため起動できません")
    assert "forms/templates/resident_record.html（内容が一致しません）" in message
    assert caught.value.problems == ["forms/templates/resident_record.html（内容が一致しません）"]
    for other in SHIPPED - {"resident_record.html"}:
        assert other not in message


def test_an_edited_stylesheet_is_refused(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    with (copy / "forms.css").open("a", encoding="utf-8") as css:
        css.write('\nbody { background: url("https://tracker.example/pixel.png"); }\n')
    with pytest.raises(CatalogTampered, match=r"forms/templates/forms\.css（内容が一致しません）"):
        manifest.verified_sources(copy, manifest.MANIFEST_PATH)


def test_an_added_and_a_deleted_file_are_named(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    (copy / "tax_certificate.html").write_text("{% extends '_base.html' %}", encoding="utf-8")
    (copy / "partials").mkdir()
    (copy / "partials" / "footer.css").write_text("p { color: red }", encoding="utf-8")
    (copy / "move_out.html").unlink()
    with pytest.raises(CatalogTampered) as caught:
        manifest.verified_sources(copy, manifest.MANIFEST_PATH)
    message = str(caught.value)
    assert "forms/templates/tax_certificate.html（マニフェストにないファイルです）" in message
    assert "forms/templates/partials/footer.css（マニフェストにないファイルです）" in message
    assert "forms/templates/move_out.html（ファイルがありません）" in message
    assert len(caught.value.problems) == 3


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    for name in ("_base.html", "disaster_damage.html"):
        with (copy / name).open("a", encoding="utf-8") as f:
            f.write("<!-- edited -->")
    (copy / "forms.css").unlink()
    with pytest.raises(CatalogTampered) as caught:
        manifest.verified_sources(copy, manifest.MANIFEST_PATH)
    assert caught.value.problems == [
        "forms/templates/_base.html（内容が一致しません）",
        "forms/templates/disaster_damage.html（内容が一致しません）",
        "forms/templates/forms.css（ファイルがありません）",
    ]


def test_an_edited_manifest_entry_is_refused(tmp_path: Path) -> None:
    body = json.loads(manifest.MANIFEST_PATH.read_text(encoding="utf-8"))
    body["files"]["_base.html"] = "0" * 64
    edited = tmp_path / "manifest.json"
    edited.write_text(json.dumps(body), encoding="utf-8")
    with pytest.raises(CatalogTampered, match=r"forms/templates/_base\.html（内容が一致しません）"):
        manifest.verified_sources(manifest.TEMPLATE_DIR, edited)


# --- start-up ----------------------------------------------------------------------------------


def test_start_up_refuses_a_tampered_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = _copy(tmp_path)
    target = copy / "resident_record.html"
    target.write_text(
        target.read_text(encoding="utf-8").replace(
            "{% endblock %}", "<p>{{ record.persons[0].my_number }}</p>{% endblock %}"
        ),
        encoding="utf-8",
    )
    _use_catalog(monkeypatch, copy)
    settings = _settings(tmp_path)
    with pytest.raises(CatalogTampered, match=r"forms/templates/resident_record\.html"):
        AppState.from_settings(settings)
    with pytest.raises(CatalogTampered, match=r"forms/templates/resident_record\.html"):
        create_app(settings)


def test_start_up_refuses_an_added_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = _copy(tmp_path)
    (copy / "custom_imizu.html").write_text("<p>{{ record }}</p>", encoding="utf-8")
    _use_catalog(monkeypatch, copy)
    with pytest.raises(CatalogTampered, match=r"forms/templates/custom_imizu\.html"):
        create_app(_settings(tmp_path))


def test_start_up_with_the_catalog_as_shipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = _copy(tmp_path)
    _use_catalog(monkeypatch, copy)
    state = AppState.from_settings(_settings(tmp_path))
    try:
        assert state.form_sources == manifest.verified_sources(copy, manifest.MANIFEST_PATH)
        app = create_app(state.settings, state)
        assert app.state.jichitai is state
    finally:
        state.engine.dispose()


def test_the_renderer_never_reads_the_disk_after_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = _copy(tmp_path)
    _use_catalog(monkeypatch, copy)
    state = AppState.from_settings(_settings(tmp_path))
    try:
        # Edited on the server after the check: the running process still prints the checked form.
        target = copy / "resident_record.html"
        target.write_text(
            target.read_text(encoding="utf-8").replace("住所", "INJECTED"), encoding="utf-8"
        )
        html = state.renderer.html(spec(FormKind.RESIDENT_RECORD_COPY), _context())
        assert "INJECTED" not in html
        assert "住所" in html
        assert state.renderer.sources == state.form_sources
    finally:
        state.engine.dispose()


# --- no way to upload or override a template ---------------------------------------------------


def _paths(app: Any) -> set[str]:
    iterate = getattr(fastapi_routing, "iter_route_contexts", None)
    routes = list(app.routes) if iterate is None else list(iterate(app.routes))
    return {getattr(r, "path", None) or "" for r in routes}


def test_no_route_uploads_or_overrides_a_template(tmp_path: Path) -> None:
    state = AppState.from_settings(_settings(tmp_path))
    try:
        app = create_app(state.settings, state)
        paths = _paths(app)
        # The listing really holds the app's routes (else the check below proves nothing).
        assert {"/verify/{serial}", "/api/v1/tenant/parameters", "/healthz"} <= paths
        assert len(paths) > 40
        for forbidden in ("template", "stylesheet", "forms.css", "manifest"):
            assert not [p for p in paths if forbidden in p.lower()], forbidden
        # Nor does any API body or parameter carry a template.
        schema = json.dumps(app.openapi(), ensure_ascii=False).lower()
        assert "template" not in schema
    finally:
        state.engine.dispose()


@pytest.mark.parametrize(
    "values",
    [
        {"template": "<h1>{{ record }}</h1>"},
        {"templates": {"resident_record.html": "x"}},
        {"stylesheet": "body { color: red }"},
        {"form_overrides": {"resident_record_copy": "x"}},
        {"fees": {"template": 0}},
    ],
)
def test_tenant_parameters_reject_a_template(values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        TenantParameters.model_validate(values)
    assert any(e["type"] == "extra_forbidden" for e in caught.value.errors())


def test_tenant_parameters_have_no_field_for_a_form() -> None:
    fields = set(TenantParameters.model_fields) | set(CertificateFees.model_fields)
    assert not [f for f in fields if any(w in f for w in ("template", "html", "css", "form"))]
    assert TenantParameters.model_config.get("extra") == "forbid"
    assert CertificateFees.model_config.get("extra") == "forbid"


def test_the_parameters_request_rejects_a_template_beside_the_parameters() -> None:
    with pytest.raises(ValidationError):
        ParametersUpdate.model_validate(
            {"version": 1, "parameters": {}, "template": "<h1>{{ record }}</h1>"}
        )
