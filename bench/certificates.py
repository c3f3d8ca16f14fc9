"""Certificate rendering: one 住民票の写し in-process, and batch pages per second on every core.

Prints, against plain WeasyPrint measured in the same run (a fresh ``HTML(...).write_pdf()`` per
document with default options, the same template and stylesheet inlined):

* **single certificate**: median and p95 of ``Renderer.render`` (targets: median ≤ 60 ms,
  p95 ≤ 150 ms, IPAmj明朝), and separately what the issuing path adds: the verification QR code
  (against segno trying all eight masks, as it does by default) and the PAdES signature;
* **batch**: pages per second of ``forms.batch.BatchRenderer`` writing one PDF with one worker
  process per core (target ≥ 80 pages/s), next to plain WeasyPrint's pages per second on one core.

Plain WeasyPrint runs in a fresh process of its own: ``Renderer`` changes how WeasyPrint keeps
fonts for the whole process, and the baseline must not profit from it. Whether WeasyPrint
subsets fonts through libharfbuzz-subset is printed first: without it every figure is several
times worse. Figures only; nothing is asserted (the machine may be busy).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import statistics
import sys
import time
from typing import Any

import segno

from bench import in_fresh_process
from forms import manifest, signing
from forms.batch import BatchRenderer
from forms.catalog import FormKind, spec
from forms.engine import Renderer, harfbuzz_subset_in_use, qr_data_uri

SINGLE_RUNS = 60
BATCH_DOCUMENTS = 240


def _context(n: int) -> dict[str, Any]:
    """A one-person 住民票の写し as the issuing path builds it (with 世帯主・続柄)."""
    serial = f"162116-2026-{n:07d}"
    person = {
        "name": "髙橋　葛\U000e0102城",
        "kana": None,
        "birth_date": "昭和50年4月1日",
        "sex": "男",
        "relationship": "世帯主",
        "became_resident_on": "平成10年4月1日",
        "address_since": "平成10年4月1日",
        "notified_on": "平成10年4月3日",
        "previous_address": "富山県富山市新桜町7番38号",
    }
    digest = signing.content_hash({"serial": serial, "person": person})
    code = signing.VerificationCode(serial, digest, "A" * 86)
    return {
        "issuer": {
            "name": "射水市",
            "prefecture": "富山県",
            "title": "射水市長",
            "mayor_name": "見本　太郎",
            "seal": None,
        },
        "document": {
            "serial": serial,
            "issued_on": dt.date.today().isoformat(),
            "issued_on_text": "令和8年11月27日",
            "reissue": False,
            "sample": False,
            "acting_issuer": None,
            "qr": qr_data_uri(code.url("https://jichitai.example.jp")),
        },
        "record": {
            "layout": "individual",
            "address": "大門 1番地",
            "head_name": "髙橋　葛\U000e0102城",
            "persons": [person],
            "omitted": ["本籍・筆頭者", "住民票コード", "個人番号"],
        },
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _time(fn: Any, runs: int) -> list[float]:
    fn()  # warm-up: fonts, caches
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _inline(html: str, sources: dict[str, str]) -> str:
    """The document with its stylesheet inlined, as plain WeasyPrint is given it."""
    return html.replace("</head>", f"<style>{sources['forms.css']}</style></head>", 1)


def _plain_single(html: str, runs: int) -> list[float]:
    """In a fresh process: a new ``HTML(...).write_pdf()`` per document, default options."""
    from weasyprint import HTML

    return _time(lambda: HTML(string=html).write_pdf(), runs)


def _plain_pages_per_second(htmls: list[str]) -> float:
    """In a fresh process: plain WeasyPrint's pages per second on one core."""
    from weasyprint import HTML

    HTML(string=htmls[0]).write_pdf()  # warm-up, as for ours
    started = time.perf_counter()
    pages = 0
    for h in htmls:
        document = HTML(string=h).render()
        document.write_pdf()
        pages += len(document.pages)
    return pages / (time.perf_counter() - started)


def bench_single(renderer: Renderer, sources: dict[str, str]) -> None:
    form = spec(FormKind.RESIDENT_RECORD_COPY)
    context = _context(1)
    plain = in_fresh_process(
        _plain_single, _inline(renderer.html(form, context), sources), SINGLE_RUNS
    )
    ours = _time(lambda: renderer.render(form, context), SINGLE_RUNS)
    pdf = renderer.render(form, context)
    cert, key = signing.pdf_certificate("162116", "射水市長", 1, b"\x01" * 32)
    signed = _time(
        lambda: signing.sign_pdf(pdf, cert, key, reason="bench", location="射水市"), SINGLE_RUNS
    )
    print(f"[certificate] 住民票の写し (1 person), {SINGLE_RUNS} runs each, in-process")
    for label, values in (("plain WeasyPrint", plain), ("Renderer", ours)):
        print(
            f"  {label:17} median {statistics.median(values):6.1f} ms   "
            f"p95 {_percentile(values, 0.95):6.1f} ms"
        )
    print(
        f"  ratio plain/ours  median {statistics.median(plain) / statistics.median(ours):.2f}×"
        "   (targets: median ≤ 60 ms, p95 ≤ 150 ms)"
    )
    url = signing.VerificationCode("162116-2026-0000001", "0" * 64, "A" * 86).url(
        "https://jichitai.example.jp"
    )
    qr = _time(lambda: qr_data_uri(url), SINGLE_RUNS)
    qr_any_mask = _time(
        lambda: segno.make(url, error="m", micro=False).png_data_uri(scale=4, border=2),
        SINGLE_RUNS,
    )
    print(
        f"  + QR code         median {statistics.median(qr):6.1f} ms (mask fixed; "
        f"{statistics.median(qr_any_mask):.1f} ms when segno tries all eight)"
    )
    print(f"  + PAdES signature median {statistics.median(signed):6.1f} ms (issuing path only)")


def bench_batch(sources: dict[str, str], workers: int) -> None:
    from pypdf import PdfReader

    contexts = [_context(n) for n in range(BATCH_DOCUMENTS)]
    form = spec(FormKind.RESIDENT_RECORD_COPY)
    html = Renderer(sources=sources).html
    plain_rate = in_fresh_process(
        _plain_pages_per_second, [_inline(html(form, c), sources) for c in contexts[:40]]
    )
    with BatchRenderer(sources, workers=workers) as batch:
        batch.warm_up()
        batch.one_pdf(FormKind.RESIDENT_RECORD_COPY, contexts[: workers * 2])  # warm fonts
        started = time.perf_counter()
        pdf = batch.one_pdf(FormKind.RESIDENT_RECORD_COPY, contexts)
        seconds = time.perf_counter() - started
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    rate = pages / seconds
    print(f"[batch] {BATCH_DOCUMENTS} documents → one PDF of {pages} pages, {workers} processes")
    print(f"  plain WeasyPrint, one core  {plain_rate:7.1f} pages/s")
    print(
        f"  BatchRenderer               {rate:7.1f} pages/s   "
        f"({rate / plain_rate:.1f}× plain; target ≥ 80 pages/s)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.certificates", description=__doc__)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    print(f"[fonts] WeasyPrint subsets through libharfbuzz-subset: {harfbuzz_subset_in_use()}")
    sources = manifest.verified_sources()
    renderer = Renderer(sources=sources, concurrency=1)
    bench_single(renderer, sources)
    bench_batch(sources, args.workers)


if __name__ == "__main__":
    main()
