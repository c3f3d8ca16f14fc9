"""Certificate rendering: one 住民票の写し in-process, and batch pages per second on every core.

Prints, against plain WeasyPrint measured in the same run (a fresh ``HTML(...).write_pdf()`` per
document with default options, the same template and stylesheet inlined):

* **single certificate**: median and p95 of ``Renderer.render`` (targets: median ≤ 60 ms,
  p95 ≤ 150 ms, IPAmj明朝), and separately the PAdES signature the issuing path adds;
* **batch**: pages per second of ``forms.batch.BatchRenderer`` writing one PDF with one worker
  process per core (target ≥ 80 pages/s), next to plain WeasyPrint's pages per second on one core.

Whether WeasyPrint subsets fonts through libharfbuzz-subset is printed first: without it every
figure is several times worse. Figures only; nothing is asserted (the machine may be busy).
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


def bench_single(renderer: Renderer, sources: dict[str, str]) -> None:
    from weasyprint import HTML

    form = spec(FormKind.RESIDENT_RECORD_COPY)
    context = _context(1)
    html = renderer.html(form, context)
    inline = html.replace("</head>", f"<style>{sources['forms.css']}</style></head>", 1)
    ours = _time(lambda: renderer.render(form, context), SINGLE_RUNS)
    plain = _time(lambda: HTML(string=inline).write_pdf(), SINGLE_RUNS)
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
    print(f"  + PAdES signature median {statistics.median(signed):6.1f} ms (issuing path only)")


def bench_batch(sources: dict[str, str], workers: int) -> None:
    from pypdf import PdfReader
    from weasyprint import HTML

    contexts = [_context(n) for n in range(BATCH_DOCUMENTS)]
    plain_renderer = Renderer(sources=sources)
    form = spec(FormKind.RESIDENT_RECORD_COPY)
    sample = 40
    inline = [
        plain_renderer.html(form, c).replace(
            "</head>", f"<style>{sources['forms.css']}</style></head>", 1
        )
        for c in contexts[:sample]
    ]
    started = time.perf_counter()
    for h in inline:
        HTML(string=h).write_pdf()
    plain_rate = sample / (time.perf_counter() - started)
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
