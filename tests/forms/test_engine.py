"""The renderer: HarfBuzz subsetting, no fetching, the Jinja2 sandbox, IVS text, dates, async."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
import logging
import random
import zlib
from typing import Any, cast

import pytest
import segno
import segno.encoder
import zxingcpp
from fontTools.ttLib import TTFont
from jinja2.exceptions import SecurityError, TemplateNotFound, UndefinedError
from PIL import Image
from pypdf import PdfReader
from weasyprint.urls import FatalURLFetchingError

from forms import engine, manifest
from forms.catalog import FormKind, FormSpec, spec
from forms.engine import (
    QR_MASK,
    Renderer,
    harfbuzz_subset_in_use,
    qr_data_uri,
    wareki,
    western,
)
from forms.signing import VerificationCode

SOURCES = manifest.verified_sources()
FORM = spec(FormKind.RESIDENT_RECORD_COPY)
KATSURA_IVS = "葛\U000e0102"  # 葛 with a selector whose glyph is not the default one
KATSURA_DEFAULT_IVS = "葛\U000e0103"  # 葛 with the selector of IPAmj明朝's default glyph


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(sources=SOURCES)


def _record(**over: Any) -> dict[str, Any]:
    person = {
        "name": "射水 太郎",
        "kana": "イミズ タロウ",
        "birth_date": "昭和50年4月1日",
        "sex": "男",
        "became_resident_on": "平成10年4月1日",
        "address_since": "平成10年4月1日",
        "notified_on": "平成10年4月1日",
        "previous_address": "富山県富山市新桜町7番38号",
    }
    return {"address": "富山県射水市新開発410番地1", "persons": [person], "omitted": []} | over


def _context(record: dict[str, Any] | None = None) -> dict[str, Any]:
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
            "qr": qr_data_uri("https://jichitai.example/verify/162116-2026-0000001"),
        },
        "record": record or _record(),
    }


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _flat(pdf: bytes) -> str:
    return _text(pdf).replace(" ", "").replace("\n", "")


def _html(body: str) -> str:
    return f'<!DOCTYPE html><html lang="ja"><body>{body}</body></html>'


# --- fonts -------------------------------------------------------------------------------------


def test_weasyprint_subsets_through_harfbuzz() -> None:
    assert harfbuzz_subset_in_use() is True


def test_rendering_a_form_does_not_fall_back_to_fonttools(
    renderer: Renderer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = renderer.render(FORM, _context())
    assert pdf.startswith(b"%PDF-")
    assert "住民票の写し" in _flat(pdf)
    assert not [r for r in caplog.records if "Using fontTools" in r.getMessage()]


def test_the_fonttools_warning_would_be_seen(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Control for the test above: without libharfbuzz-subset the warning is logged and caught."""
    from weasyprint.pdf import fonts as pdf_fonts
    from weasyprint.text import ffi

    monkeypatch.setattr(pdf_fonts, "harfbuzz_subset", None)
    monkeypatch.setattr(ffi, "harfbuzz_subset", None)
    assert harfbuzz_subset_in_use() is False
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        Renderer(sources=SOURCES).pdf_from_html(_html("<p>射水</p>"))
    assert [r for r in caplog.records if "Using fontTools" in r.getMessage()]


def _font_streams(pdf: bytes) -> list[Any]:
    """The streams of the embedded TrueType programs of every font of the first page."""
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    resources: Any = page["/Resources"]
    fonts: Any = resources["/Font"]
    streams = []
    for font in fonts.values():
        for descendant in font.get_object().get("/DescendantFonts", []):
            descriptor = descendant.get_object()["/FontDescriptor"]
            streams.append(descriptor["/FontFile2"].get_object())
    return streams


def _font_programs(pdf: bytes) -> list[bytes]:
    """The embedded TrueType programs of every font of the first page."""
    return [stream.get_data() for stream in _font_streams(pdf)]


def test_the_big_font_is_subset_from_one_preprocessed_face_per_process(renderer: Renderer) -> None:
    renderer.render(FORM, _context())
    # A second renderer has its own FontConfiguration, which maps IPAmj明朝 anew: the face is
    # recognised by its content and neither copied nor preprocessed again.
    Renderer(sources=SOURCES).render(FORM, _context())
    assert len(engine._preprocessed) == 1
    assert len(engine._font_data) == 1


def _outlines(program: bytes) -> list[tuple[Any, ...]]:
    """Each glyph id's outline with its components drawn in (their ids may differ between two
    subsets) and its advance; an empty slot is ``()``."""
    font = TTFont(io.BytesIO(program))
    glyf, hmtx = font["glyf"], font["hmtx"]
    out: list[tuple[Any, ...]] = []
    for name in font.getGlyphOrder():
        coords, ends, _flags = glyf[name].getCoordinates(glyf)
        out.append((tuple(coords), tuple(ends), hmtx[name]) if ends else ())
    return out


def test_one_pass_subsetting_keeps_every_glyph_weasyprint_keeps(
    renderer: Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one-pass subset from the preprocessed face (engine._subset_once) against
    WeasyPrint's own two passes from the plain face: the same glyphs (outlines, advances), and
    each glyph both keep at the same id — the ids the page's text refers to. (WeasyPrint's
    second pass renumbers the glyphs only components need; the one pass keeps their ids.)"""
    from weasyprint.pdf import fonts as pdf_fonts

    ours = _font_programs(renderer.render(FORM, _context()))
    monkeypatch.setattr(
        pdf_fonts.Font, "_harfbuzz_subset", pdf_fonts.Font._harfbuzz_subset.original
    )
    plain = _font_programs(renderer.render(FORM, _context()))
    assert ours and len(ours) == len(plain)
    for one, two in zip(ours, plain, strict=True):
        tables = sorted(TTFont(io.BytesIO(one)).keys())
        assert tables == sorted(TTFont(io.BytesIO(two)).keys())
        assert "GSUB" not in tables and "fpgm" not in tables  # dropped, hinting too
        a, b = _outlines(one), _outlines(two)
        assert sorted(g for g in a if g) == sorted(g for g in b if g)
        shared = [gid for gid in range(min(len(a), len(b))) if a[gid] and b[gid]]
        assert len(shared) > 50  # the certificate's characters, not an empty font
        assert all(a[gid] == b[gid] for gid in shared)
    assert all(len(program) < 1_000_000 for program in ours)  # subset, not the 46 MB face


# --- nothing is fetched ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('<img src="http://127.0.0.1:9/x.png">', id="http-image"),
        pytest.param('<img src="https://example.com/x.png">', id="https-image"),
        pytest.param('<img src="file:///etc/passwd">', id="file-image"),
        pytest.param('<link rel="stylesheet" href="file:///etc/passwd">', id="file-stylesheet"),
        pytest.param('<link rel="stylesheet" href="http://127.0.0.1:9/x.css">', id="http-css"),
        pytest.param('<style>@import url("http://127.0.0.1:9/x.css");</style>', id="css-import"),
        pytest.param('<p style="background: url(file:///etc/hostname)">x</p>', id="css-background"),
        pytest.param('<object data="file:///etc/passwd"></object>', id="object"),
    ],
)
def test_the_url_fetcher_refuses_network_and_file_urls(renderer: Renderer, body: str) -> None:
    with pytest.raises(FatalURLFetchingError) as caught:
        renderer.pdf_from_html(_html(f"<p>射水</p>{body}"))
    # Refused for its scheme, not because the address happened to be unreachable.
    assert "disallowed protocol" in str(caught.value.__cause__)


def test_data_urls_work(renderer: Renderer) -> None:
    pdf = renderer.pdf_from_html(_html(f'<p>射水</p><img src="{qr_data_uri("x")}">'))
    assert len(PdfReader(io.BytesIO(pdf)).pages[0].images) == 1


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "http://127.0.0.1:9/", "https://example.com/", "ftp://x/y"]
)
def test_the_fetcher_itself_allows_data_only(url: str) -> None:
    fetcher = Renderer.url_fetcher()
    assert fetcher.fetch("data:text/plain;base64,5bCE5rC0").read() == "射水".encode()
    with pytest.raises(ValueError, match="disallowed protocol"):
        fetcher.fetch(url)


def test_a_url_in_the_content_is_printed_not_fetched(renderer: Renderer) -> None:
    """Content is escaped: a value cannot add an element, let alone an address to fetch."""
    record = _record(address='<img src="http://127.0.0.1:9/x.png">大門1番地')
    html = renderer.html(FORM, _context(record))
    assert "&lt;img" in html
    assert '<img src="http://127.0.0.1:9' not in html
    assert "大門1番地" in _flat(renderer.pdf_from_html(html))


# --- the sandbox -------------------------------------------------------------------------------


def _evil(source: str) -> tuple[Renderer, FormSpec]:
    form = FormSpec(FormKind.RESIDENT_RECORD_COPY, "試験", "evil.html", "証明する。", "x")
    return Renderer(sources={**SOURCES, "evil.html": source}), form


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__['os'] }}",
        "{{ joiner.__init__.__globals__.__builtins__ }}",
        "{{ record.__class__ }}",
        "{{ record.persons.append(1) }}",
        "{{ record.persons.pop() }}",
        "{{ record.update({'address': 'x'}) }}",
    ],
)
def test_the_sandbox_refuses_attribute_tricks(source: str) -> None:
    renderer, form = _evil(source)
    with pytest.raises((SecurityError, UndefinedError)):
        renderer.html(form, _context())


def test_a_mutating_call_leaves_the_content_untouched() -> None:
    renderer, form = _evil("{{ record.persons.clear() }}")
    context = _context()
    with pytest.raises(SecurityError):
        renderer.html(form, context)
    assert len(context["record"]["persons"]) == 1


@pytest.mark.parametrize(
    "source", ['{% include "/etc/passwd" %}', '{% include "../manifest.json" %}']
)
def test_templates_cannot_reach_the_file_system(source: str) -> None:
    renderer, form = _evil(source)
    with pytest.raises(TemplateNotFound):
        renderer.html(form, _context())


def test_a_missing_value_is_an_error_not_a_blank() -> None:
    renderer, form = _evil("<p>{{ record.nickname }}</p>")
    with pytest.raises(UndefinedError):
        renderer.html(form, _context())
    renderer, form = _evil("<p>{{ nowhere }}</p>")
    with pytest.raises(UndefinedError):
        renderer.html(form, _context())


def test_a_shipped_form_needs_every_item_it_prints(renderer: Renderer) -> None:
    record = _record()
    del record["persons"][0]["previous_address"]
    with pytest.raises(UndefinedError):
        renderer.html(FORM, _context(record))


def test_a_harmless_template_renders() -> None:
    renderer, form = _evil("<p>{{ record.address }}／{{ '2019-05-01' | wareki }}</p>")
    assert renderer.html(form, _context()) == "<p>富山県射水市新開発410番地1／令和元年5月1日</p>"


# --- variation sequences in the text layer -----------------------------------------------------


def test_a_name_keeps_its_variation_sequence_in_the_pdf_text(renderer: Renderer) -> None:
    pdf = renderer.pdf_from_html(_html(f"<p>{KATSURA_IVS}城</p><p>東京都葛飾区</p>"))
    text = _text(pdf)
    assert f"{KATSURA_IVS}城" in text
    # The plain character elsewhere stays plain.
    assert "東京都葛飾区" in text
    assert text.count("\U000e0102") == 1


def test_a_form_prints_an_ivs_name_with_its_selector(renderer: Renderer) -> None:
    record = _record(address="東京都葛飾区立石5丁目13番1号")
    record["persons"][0]["name"] = f"髙橋 {KATSURA_IVS}城"
    text = _flat(renderer.render(FORM, _context(record)))
    assert f"髙橋{KATSURA_IVS}城" in text
    assert "東京都葛飾区" in text


def test_without_a_selector_the_text_is_plain(renderer: Renderer) -> None:
    text = _text(renderer.pdf_from_html(_html("<p>葛城</p>")))
    assert "葛城" in text
    assert not any(0xE0100 <= ord(c) <= 0xE01EF for c in text)


def test_a_plain_character_stays_plain_beside_its_default_glyph_sequence(
    renderer: Renderer,
) -> None:
    pdf = renderer.pdf_from_html(_html(f"<p>{KATSURA_DEFAULT_IVS}西</p><p>東京都葛飾区</p>"))
    text = _text(pdf)
    # One glyph has one text: the sequence draws the very glyph of plain 葛, so with both in
    # one document the plain reading wins and no selector is invented for 葛飾区.
    assert "東京都葛飾区" in text
    assert "葛西" in text


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "japanese", "gregorian"),
    [
        ("2019-04-30", "平成31年4月30日", "2019年4月30日"),
        ("2019-05-01", "令和元年5月1日", "2019年5月1日"),
        ("2020-01-01", "令和2年1月1日", "2020年1月1日"),
        ("1989-01-07", "昭和64年1月7日", "1989年1月7日"),
        ("1989-01-08", "平成元年1月8日", "1989年1月8日"),
    ],
)
def test_wareki_and_western(day: str, japanese: str, gregorian: str) -> None:
    assert wareki(day) == japanese
    assert wareki(dt.date.fromisoformat(day)) == japanese
    assert western(day) == gregorian
    assert western(dt.date.fromisoformat(day)) == gregorian


def test_empty_dates_print_nothing() -> None:
    assert wareki(None) == wareki("") == ""
    assert western(None) == western("") == ""


def test_date_filters_in_a_template(renderer: Renderer) -> None:
    template = renderer.env.from_string("{{ d | wareki }}／{{ d | western }}")
    assert template.render(d=dt.date(2019, 5, 1)) == "令和元年5月1日／2019年5月1日"


# --- async -------------------------------------------------------------------------------------


def test_render_async_runs_off_the_event_loop(renderer: Renderer) -> None:
    async def main() -> tuple[bytes, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.002)
                ticks += 1

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        before = ticks
        pdf = await renderer.render_async(FORM, _context())
        during = ticks - before
        task.cancel()
        return pdf, during

    pdf, ticks_during_render = asyncio.run(main())
    assert pdf.startswith(b"%PDF-")
    assert "162116-2026-0000001" in _flat(pdf)
    # The loop kept running while the PDF was laid out in a worker thread.
    assert ticks_during_render >= 2


def test_concurrent_async_renders(renderer: Renderer) -> None:
    async def main() -> list[bytes]:
        contexts = []
        for n in range(1, 4):
            context = _context()
            context["document"]["serial"] = f"162116-2026-{n:07d}"
            contexts.append(context)
        return list(await asyncio.gather(*(renderer.render_async(FORM, c) for c in contexts)))

    pdfs = asyncio.run(main())
    for n, pdf in enumerate(pdfs, start=1):
        assert f"162116-2026-{n:07d}" in _flat(pdf)


def _signed_url(n: int) -> str:
    """A verification URL shaped as issued: serial, SHA-256 digest, Ed25519 signature."""
    rng = random.Random(n)  # noqa: S311 (test data: reproducible, not secret)
    digest = rng.randbytes(32).hex()
    signature = base64.urlsafe_b64encode(rng.randbytes(64)).decode().rstrip("=")
    return VerificationCode(f"162116-2026-{n:07d}", digest, signature).url(
        "https://jichitai.example"
    )


def test_a_printed_qr_code_reads_back_as_the_verification_url(renderer: Renderer) -> None:
    """The code on the certificate, taken out of the PDF as printed, decodes (ZXing) to the URL."""
    url = _signed_url(1)
    context = _context()
    context["document"]["qr"] = qr_data_uri(url)
    pdf = renderer.render(FORM, context)
    (image,) = PdfReader(io.BytesIO(pdf)).pages[0].images
    pixels, xobject = image.image, image.indirect_reference
    assert pixels is not None and xobject is not None
    # One grey pixel per module, drawn without smoothing: printed, each module is a square.
    assert pixels.mode == "L" and pixels.width < 100
    assert cast(Any, xobject.get_object())["/Interpolate"].value is False
    printed = pixels.resize((260, 260), Image.Resampling.NEAREST)  # 22 mm at 300 dpi
    found = zxingcpp.read_barcodes(printed)
    assert [(b.format, b.text) for b in found] == [(zxingcpp.BarcodeFormat.QRCode, url)]


def test_the_pdfs_streams_are_compressed_at_the_flate_level(renderer: Renderer) -> None:
    """pydyf's level 9 replaced by FLATE_LEVEL: the font program, decompressed and compressed
    again at that level, gives the bytes in the PDF."""
    streams = _font_streams(renderer.render(FORM, _context()))
    assert streams
    for stream in streams:
        flate = zlib.compressobj(engine.FLATE_LEVEL)
        assert flate.compress(stream.get_data()) + flate.flush() == stream._data


def test_the_fixed_mask_scores_close_to_the_best_on_signed_urls() -> None:
    """JIS X 0510's mask penalty: the fixed pattern against the best of the eight, for codes
    carrying a signature as every verification code does — never 10 % worse, 2 % on average."""
    ratios = []
    for n in range(30):
        url = _signed_url(n)
        scores = []
        for mask in range(8):
            matrix = segno.make(url, error="m", micro=False, mask=mask).matrix
            scores.append(segno.encoder.evaluate_mask(matrix, len(matrix), len(matrix)))  # type: ignore[no-untyped-call]
        ratios.append(scores[QR_MASK] / min(scores))
    assert max(ratios) <= 1.10, ratios
    assert sum(ratios) / len(ratios) <= 1.02, ratios
