"""Rendering the standard forms: sandboxed Jinja2 over the verified catalog → WeasyPrint → PDF.

* Templates come only from the bytes ``forms.manifest`` verified at start-up, through a
  sandboxed environment with strict undefined values: no file system, no attribute tricks, no
  per-tenant template.
* Fonts: IPAmj明朝 (Debian ``fonts-ipamj-mincho``) carries the MJ glyphs and the Ideographic
  Variation Sequences of the administrative character set; names are printed with their
  selectors intact.
* Nothing is fetched from anywhere: the only URLs a form may use are ``data:`` URLs (the QR
  code, the seal image), and any other address stops the rendering.
* Speed: one ``FontConfiguration`` and stylesheet per thread, an image cache, each big font
  read and prepared for subsetting once per process (see :func:`_install_font_caches`), and
  streams compressed at zlib's default level, not pydyf's 9 (``FLATE_LEVEL``).
  Rendering runs in worker threads behind a semaphore, never on the event loop.
"""

from __future__ import annotations

import base64
import contextvars
import datetime as dt
import io
import re
import threading
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import segno
from jinja2 import DictLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from PIL import Image

from core.japanese.era import to_japanese
from forms import manifest
from forms.catalog import FormSpec

STYLESHEET = "forms.css"
# A face bigger than this is read out of HarfBuzz once per process instead of once per document.
_BIG_FONT_BYTES = 4 * 1024 * 1024


class RenderError(RuntimeError):
    """A form could not be rendered (a programming error, never bad user input)."""


def wareki(value: dt.date | str | None) -> str:
    """和暦 for Japanese residents' dates on certificates (J:90)."""
    if value is None or value == "":
        return ""
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return to_japanese(day).format()


def western(value: dt.date | str | None) -> str:
    """Western calendar dates, as printed for foreign residents (J:90)."""
    if value is None or value == "":
        return ""
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.year}年{day.month}月{day.day}日"


# JIS X 0510 has the encoder try the eight mask patterns and keep the one with the lowest
# penalty (fewest runs and blocks a scanner could misread). segno does that in Python, ≈ 15 ms a
# code — more than signing it. Our codes carry a digest and a signature, random-looking data
# whose penalty hardly depends on the mask: pattern 2 scores within 10 % of the best, 1 % on
# average (tests/forms/test_engine.py measures it and reads a printed code back with ZXing).
QR_MASK = 2


QR_BORDER = 2  # quiet zone, in modules (the stylesheet's size includes it)


def qr_data_uri(content: str) -> str:
    """A QR code as a PNG data URL: one pixel per module, 8-bit grey.

    A raster draws far faster than an SVG path in WeasyPrint. The stylesheet prints it 22 mm
    wide with ``image-rendering: pixelated`` (the PDF image says ``Interpolate false``), so each
    module prints as a sharp square however small the image. WeasyPrint turns a 1-bit or
    palette PNG (segno's) into RGB and encodes it twice per document; an 8-bit grey one it
    takes as it is, and at one pixel per module there are 16 times fewer pixels to encode."""
    code = segno.make(content, error="m", micro=False, mask=QR_MASK)
    size = len(code.matrix) + 2 * QR_BORDER
    quiet = bytes([255]) * (size * QR_BORDER)
    edge = bytes([255]) * QR_BORDER
    rows = b"".join(edge + bytes(0 if v else 255 for v in row) + edge for row in code.matrix)
    out = io.BytesIO()
    Image.frombytes("L", (size, size), quiet + rows + quiet).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def seal_data_uri(png_base64: str | None) -> str | None:
    if not png_base64:
        return None
    base64.b64decode(png_base64, validate=True)  # never hand WeasyPrint anything but a PNG
    return f"data:image/png;base64,{png_base64}"


def harfbuzz_subset_in_use() -> bool:
    """Whether WeasyPrint subsets fonts through libharfbuzz-subset (≈6× faster than fontTools)."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    return bool(harfbuzz_subset) and bool(harfbuzz.hb_version_atleast(4, 1, 0))


# Big fonts (IPAmj明朝 is 46 MB) are recognised by their content, not by the address HarfBuzz
# holds them at: every FontConfiguration maps the file anew, and a cache keyed by address would
# keep one more copy per configuration. Size, face index and the first and last 64 KiB (the
# table directory with every table's checksum, and the end of the data) tell two files apart.
_FINGERPRINT_BYTES = 64 * 1024
_Fingerprint = tuple[int, int, bytes]
_font_lock = threading.Lock()
_font_data: dict[_Fingerprint, bytes] = {}
_preprocessed: dict[_Fingerprint, Any] = {}


def _harfbuzz() -> tuple[Any, Any, Any]:
    """WeasyPrint's HarfBuzz bindings plus ``hb_subset_preprocess`` (HarfBuzz ≥ 6.0), which they
    do not declare."""
    from weasyprint.text.ffi import ffi, harfbuzz

    subset = getattr(_harfbuzz, "subset", None)
    if subset is None:
        ffi.cdef("hb_face_t * hb_subset_preprocess (hb_face_t *source);")
        subset = ffi.dlopen("libharfbuzz-subset.so.0")
        _harfbuzz.subset = subset  # type: ignore[attr-defined]
    return ffi, harfbuzz, subset


def _big_font(hb_face: Any) -> tuple[_Fingerprint, Any, int] | None:
    """The fingerprint, data pointer and size of a face bigger than ``_BIG_FONT_BYTES``."""
    from weasyprint.text.ffi import ffi, harfbuzz

    blob = harfbuzz.hb_face_reference_blob(hb_face)
    length = ffi.new("unsigned int *")
    try:
        pointer = harfbuzz.hb_blob_get_data(blob, length)
        size = int(length[0])
        if pointer == ffi.NULL or size < _BIG_FONT_BYTES:
            return None
        sample = ffi.unpack(pointer, _FINGERPRINT_BYTES) + ffi.unpack(
            pointer + size - _FINGERPRINT_BYTES, _FINGERPRINT_BYTES
        )
        return (size, int(harfbuzz.hb_face_get_index(hb_face)), sample), pointer, size
    finally:
        harfbuzz.hb_blob_destroy(blob)


# The tables WeasyPrint drops from every subset (weasyprint.pdf.fonts.Font._harfbuzz_subset).
_DROPPED_TABLES = (
    b"BASE",
    b"DSIG",
    b"EBDT",
    b"EBLC",
    b"EBSC",
    b"GPOS",
    b"GSUB",
    b"JSTF",
    b"LTSH",
    b"PCLT",
    b"SVG ",
)


def _subset_once(font: Any, face: Any, to_unicode: Mapping[int, Any], hinting: bool) -> None:
    """WeasyPrint's subset of ``font`` (its used glyphs, ids kept, subroutines flattened, the
    same tables dropped, hinting dropped unless asked for) in one HarfBuzz pass from ``face``,
    the preprocessed copy of the font's own face."""
    from weasyprint.pdf.fonts import get_hb_object_data
    from weasyprint.text.ffi import ffi, harfbuzz, harfbuzz_subset

    hb = harfbuzz_subset
    plan = ffi.gc(hb.hb_subset_input_create_or_fail(), hb.hb_subset_input_destroy)
    glyphs = sorted(to_unicode)
    harfbuzz.hb_set_add_sorted_array(
        hb.hb_subset_input_glyph_set(plan), ffi.new("hb_codepoint_t[]", glyphs), len(glyphs)
    )
    flags = (
        hb.HB_SUBSET_FLAGS_RETAIN_GIDS
        | hb.HB_SUBSET_FLAGS_PASSTHROUGH_UNRECOGNIZED
        | hb.HB_SUBSET_FLAGS_DESUBROUTINIZE
    )
    if not hinting:
        flags |= hb.HB_SUBSET_FLAGS_NO_HINTING
    if font.missing:
        flags |= hb.HB_SUBSET_FLAGS_NOTDEF_OUTLINE
    hb.hb_subset_input_set_flags(plan, flags)
    tags = [harfbuzz.hb_tag_from_string(t, -1) for t in _DROPPED_TABLES]
    harfbuzz.hb_set_add_sorted_array(
        hb.hb_subset_input_set(plan, hb.HB_SUBSET_SETS_DROP_TABLE_TAG),
        ffi.new("hb_codepoint_t[]", sorted(tags)),
        len(tags),
    )
    subset = ffi.gc(hb.hb_subset_or_fail(face, plan), harfbuzz.hb_face_destroy)
    data = get_hb_object_data(subset) if subset else None
    if not data:  # WeasyPrint would embed the whole 46 MB font instead: refuse
        raise RenderError(f"HarfBuzz could not subset the font {font.family!r}")
    font.file_content = data


def _install_font_caches() -> None:
    """Keep what WeasyPrint would redo for every document with a big font, once per process.

    * Its bytes: WeasyPrint copies the whole face into a Python ``bytes`` for every document
      before subsetting it, ≈ 15–30 ms a certificate with IPAmj明朝.
    * A preprocessed face to subset from: subsetting IPAmj明朝 (60,000 glyphs) from a plain face
      costs ≈ 16–20 ms a document, because HarfBuzz rebuilds its tables' accelerators each time.
      ``hb_subset_preprocess`` builds them once (≈ 0.2 s); each later subset then takes ≈ 1.3 ms.
    * One subsetting pass, not WeasyPrint's two: its second pass, from a plain face again, only
      trims the empty glyph slots after the last one used (glyph ids are kept: the page's text
      refers to them) and drops the hinting, ≈ 6 ms a certificate. Here the hinting goes in the
      one pass; the empty slots stay, and compress to ≈ 1 KB of the PDF (:func:`_subset_once`).
    """
    from weasyprint.pdf import fonts as pdf_fonts

    original_data = pdf_fonts.get_hb_object_data
    original_subset = pdf_fonts.Font._harfbuzz_subset
    if getattr(original_data, "_jichitai_cached", False):
        return
    ffi, harfbuzz, subset = _harfbuzz()

    def cached_data(hb_object: Any, ot_color: Any = None, glyph: Any = None) -> Any:
        found = _big_font(hb_object) if ot_color is None else None
        if found is None:
            return original_data(hb_object, ot_color, glyph)
        key, pointer, size = found
        with _font_lock:
            data = _font_data.get(key)
            if data is None:
                data = _font_data[key] = ffi.unpack(pointer, size)
        return data

    def preprocessed_subset(font: Any, to_unicode: Any, hinting: Any) -> Any:
        source = font.hb_face
        found = _big_font(source)
        if found is None:
            return original_subset(font, to_unicode, hinting)
        with _font_lock:
            face = _preprocessed.get(found[0])
            if face is None:
                face = _preprocessed[found[0]] = ffi.gc(
                    subset.hb_subset_preprocess(source), harfbuzz.hb_face_destroy
                )
        _subset_once(font, face, to_unicode, hinting)

    cached_data._jichitai_cached = True  # type: ignore[attr-defined]
    preprocessed_subset.original = original_subset  # type: ignore[attr-defined]
    pdf_fonts.get_hb_object_data = cached_data
    pdf_fonts.Font._harfbuzz_subset = preprocessed_subset  # type: ignore[method-assign]


# pydyf compresses every stream at zlib's level 9, ≈ 5 ms of a certificate's ≈ 60 ms (its font
# program, mostly). zlib's own default takes half of that, for 3 % more bytes.
FLATE_LEVEL = 6


class _FlateAtLevel:
    """The zlib module as pydyf sees it: ``compressobj`` at ``FLATE_LEVEL``, the rest zlib's."""

    def compressobj(self, *_args: Any, **_kwargs: Any) -> Any:
        return zlib.compressobj(FLATE_LEVEL)

    def __getattr__(self, name: str) -> Any:
        return getattr(zlib, name)


def _install_flate_level() -> None:
    import pydyf

    if not isinstance(pydyf.zlib, _FlateAtLevel):
        pydyf.zlib = _FlateAtLevel()  # type: ignore[assignment]


# --- Ideographic Variation Sequences in the PDF's text layer -----------------------------------

_VARIATION_SELECTOR = re.compile(r"[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_VARIATION_SEQUENCE = re.compile(r"(.)([\ufe00-\ufe0f\U000e0100-\U000e01ef])")
_IVS_FONT_FAMILY = "IPAmj"
_Sequences = tuple[frozenset[tuple[str, str]], frozenset[str]]
_sequences: contextvars.ContextVar[_Sequences] = contextvars.ContextVar(
    "jichitai_variation_sequences", default=(frozenset(), frozenset())
)


def _sequences_in(texts: Sequence[str]) -> _Sequences:
    """The (base, selector) pairs of the documents, and the bases that also appear plain."""
    pairs: set[tuple[str, str]] = set()
    for text in texts:
        pairs.update(_VARIATION_SEQUENCE.findall(text))
    bases = {base for base, _selector in pairs}
    plain = {
        c
        for text in texts
        for i, c in enumerate(text)
        if c in bases and not (i + 1 < len(text) and _VARIATION_SELECTOR.match(text[i + 1]))
    }
    return frozenset(pairs), frozenset(plain)


_uvs_lock = threading.Lock()
_uvs_table: dict[tuple[str, str], int] | None = None
_default_glyphs: dict[str, int] = {}


def _uvs_glyphs() -> dict[tuple[str, str], int]:
    """(base, selector) → glyph id, from IPAmj明朝's format-14 cmap (read once, ≈0.1 s)."""
    global _uvs_table
    with _uvs_lock:
        if _uvs_table is None:
            from fontTools.ttLib import TTFont

            font = TTFont(_ipamj_path(), lazy=True)
            table = next(t for t in font["cmap"].tables if t.format == 14)
            best = font["cmap"].getBestCmap()
            ids = {name: i for i, name in enumerate(font.getGlyphOrder())}
            glyphs: dict[tuple[str, str], int] = {}
            for selector, pairs in table.uvsDict.items():
                for base, name in pairs:
                    glyph = name if name is not None else best.get(base)
                    if glyph is not None:
                        glyphs[(chr(base), chr(selector))] = ids[glyph]
                        if base in best:
                            _default_glyphs[chr(base)] = ids[best[base]]
            _uvs_table = glyphs
        return _uvs_table


def _ipamj_path() -> str:
    import subprocess

    found = subprocess.run(
        ["fc-match", "-f", "%{file}", "IPAmj明朝"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "ipamj" not in found.lower():
        raise RenderError("IPAmj明朝 (fonts-ipamj-mincho) が見つかりません。")
    return found


def _install_variation_sequence_text() -> None:
    """Keep each IVS in the PDF's text, so a name copied out of the PDF keeps its selector.

    WeasyPrint maps each glyph to the characters of its own cluster; the selector, shaped into
    the base character's glyph, falls out of the text layer. Before the font dictionary is
    written, the glyph IPAmj明朝 gives a (base, selector) pair present in the document is mapped
    back to both characters — unless that glyph is also the base character's own and the
    document has the base character without a selector too: one glyph has one text, and a
    selector must never be invented for a plain character.
    """
    import weasyprint.pdf as pdf_module

    original = pdf_module.build_fonts_dictionary
    if getattr(original, "_jichitai_ivs", False):
        return

    def with_sequences(pdf: Any, fonts: Any, *args: Any, **kwargs: Any) -> Any:
        sequences, plain = _sequences.get()
        if sequences:
            table = _uvs_glyphs()
            for font in fonts.values():
                if _IVS_FONT_FAMILY not in font.family:
                    continue
                for pair in sequences:
                    glyph = table.get(pair)
                    if glyph is None or glyph not in font.to_unicode:
                        continue
                    if pair[0] in plain and _default_glyphs.get(pair[0]) == glyph:
                        # WeasyPrint keeps the text of the glyph's first use, which may be
                        # the sequence: the plain character wins.
                        font.to_unicode[glyph] = pair[0]
                        continue
                    font.to_unicode[glyph] = pair[0] + pair[1]
        return original(pdf, fonts, *args, **kwargs)

    with_sequences._jichitai_ivs = True  # type: ignore[attr-defined]
    pdf_module.build_fonts_dictionary = with_sequences


@dataclass
class _ThreadTools:
    font_config: Any
    stylesheet: Any
    images: dict[str, Any] = field(default_factory=dict)


class Renderer:
    """Turns a form and its content into PDF bytes. One per process; thread-safe."""

    def __init__(self, *, concurrency: int = 2, sources: Mapping[str, str] | None = None) -> None:
        self.sources = dict(sources) if sources is not None else manifest.verified_sources()
        self.env = ImmutableSandboxedEnvironment(
            loader=DictLoader(self.sources),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["wareki"] = wareki
        self.env.filters["western"] = western
        self._local = threading.local()
        self._slots = threading.BoundedSemaphore(concurrency)
        self.concurrency = concurrency
        _install_font_caches()
        _install_flate_level()
        _install_variation_sequence_text()

    @staticmethod
    def url_fetcher() -> Any:
        """Only ``data:`` URLs: no file, no network address, ever."""
        from weasyprint.urls import URLFetcher

        return URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)

    def _tools(self) -> _ThreadTools:
        tools: _ThreadTools | None = getattr(self._local, "tools", None)
        if tools is None:
            from weasyprint import CSS
            from weasyprint.text.fonts import FontConfiguration

            font_config = FontConfiguration()
            stylesheet = CSS(
                string=self.sources[STYLESHEET],
                font_config=font_config,
                url_fetcher=self.url_fetcher(),
            )
            tools = _ThreadTools(font_config, stylesheet)
            self._local.tools = tools
        return tools

    def html(self, form: FormSpec, context: Mapping[str, Any]) -> str:
        template = self.env.get_template(form.template)
        return template.render(form=form, **context)

    def pdf_from_html(self, html: str) -> bytes:
        from weasyprint import HTML

        tools = self._tools()
        sequences = _sequences_in([html])
        with self._slots:
            document = HTML(string=html, url_fetcher=self.url_fetcher()).render(
                stylesheets=[tools.stylesheet],
                font_config=tools.font_config,
                cache=tools.images,
            )
            token = _sequences.set(sequences)
            try:
                pdf: bytes = document.write_pdf()
            finally:
                _sequences.reset(token)
        # The image cache holds this document's QR code; keep only what every form shares.
        if len(tools.images) > 64:
            tools.images.clear()
        return pdf

    def render(self, form: FormSpec, context: Mapping[str, Any]) -> bytes:
        return self.pdf_from_html(self.html(form, context))

    def render_many(self, form: FormSpec, contexts: Sequence[Mapping[str, Any]]) -> bytes:
        """Several documents in one PDF: each laid out on its own (own page numbers), written
        once, so each font is subset once for all of them."""
        from weasyprint import HTML

        if not contexts:
            raise RenderError("no documents to render")
        tools = self._tools()
        htmls = [self.html(form, c) for c in contexts]
        sequences = _sequences_in(htmls)
        with self._slots:
            documents = [
                HTML(string=h, url_fetcher=self.url_fetcher()).render(
                    stylesheets=[tools.stylesheet],
                    font_config=tools.font_config,
                    cache=tools.images,
                )
                for h in htmls
            ]
            pages = [page for d in documents for page in d.pages]
            token = _sequences.set(sequences)
            try:
                pdf: bytes = documents[0].copy(pages).write_pdf()
            finally:
                _sequences.reset(token)
        if len(tools.images) > 64:
            tools.images.clear()
        return pdf

    async def render_async(self, form: FormSpec, context: Mapping[str, Any]) -> bytes:
        """Render in a worker thread: a 60 ms layout must never stall the event loop."""
        render: Callable[[], bytes] = lambda: self.render(form, context)  # noqa: E731
        return await anyio.to_thread.run_sync(render)
