"""Batch rendering: many documents of one form into one PDF or a zip, on every core, streamed.

For the notices of the annual batches (tax, insurance) and for bulk certificates. A document
takes one core while WeasyPrint lays it out, so the work goes to a pool of processes (one per
core by default). Each worker lays out a chunk of documents one by one (so each keeps its own
page numbers and serial) and writes the chunk as one PDF, so fonts are subset once per chunk,
not once per document. Chunks come back in order; the caller streams them as they arrive.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import Any

from core.processes import without_main_module
from forms.catalog import FormKind, spec
from forms.engine import Renderer

DEFAULT_CHUNK = 20

_worker: Renderer | None = None


def _init_worker(sources: Mapping[str, str]) -> None:
    global _worker
    _worker = Renderer(concurrency=1, sources=sources)


def _render_chunk(kind: str, contexts: Sequence[Mapping[str, Any]], split: bool) -> list[bytes]:
    """In a worker: lay out each document, then write the chunk as one PDF (or one per doc)."""
    assert _worker is not None, "worker not initialised"
    form = spec(kind)
    if split:
        return [_worker.render(form, c) for c in contexts]
    return [_worker.render_many(form, contexts)]


def _chunks(contexts: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    it = iter(contexts)
    while chunk := list(islice(it, size)):
        yield chunk


class BatchRenderer:
    """A pool of rendering processes; use as a context manager."""

    def __init__(self, sources: Mapping[str, str], *, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        # spawn, not fork: a forked copy of a threaded server process may hold locks forever.
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(dict(sources),),
        )
        # A process is spawned per task submitted while none is idle: start them all now,
        # without the caller's main module (the CLI's), which each would otherwise import to
        # use none of it (core.processes).
        with without_main_module():
            self._started = [self._pool.submit(_worker_ready) for _ in range(self.workers)]

    def __enter__(self) -> BatchRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def warm_up(self) -> None:
        """Wait until every worker has started (imports, fonts), before timing or serving."""
        for f in self._started:
            f.result()

    def _ordered(
        self,
        kind: FormKind,
        contexts: Iterable[Mapping[str, Any]],
        chunk: int,
        split: bool,
    ) -> Iterator[list[bytes]]:
        # Keep a bounded window of chunks in flight: memory stays flat for any batch size.
        window = self.workers * 2
        pending: list[Future[list[bytes]]] = []
        for part in _chunks(contexts, chunk):
            pending.append(self._pool.submit(_render_chunk, kind.value, part, split))
            if len(pending) >= window:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()

    def pdf_chunks(
        self, kind: FormKind, contexts: Iterable[Mapping[str, Any]], *, chunk: int = DEFAULT_CHUNK
    ) -> Iterator[bytes]:
        """One PDF per chunk of documents, in order."""
        for parts in self._ordered(kind, contexts, chunk, split=False):
            yield from parts

    def one_pdf(
        self, kind: FormKind, contexts: Iterable[Mapping[str, Any]], *, chunk: int = DEFAULT_CHUNK
    ) -> bytes:
        """Every document in one PDF (the chunks joined; fonts stay subset per chunk)."""
        from pypdf import PdfWriter

        writer = PdfWriter()
        for part in self.pdf_chunks(kind, contexts, chunk=chunk):
            writer.append(io.BytesIO(part))
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    def zip_stream(
        self,
        kind: FormKind,
        contexts: Iterable[Mapping[str, Any]],
        names: Iterable[str],
        *,
        chunk: int = DEFAULT_CHUNK,
    ) -> Iterator[bytes]:
        """A zip of one PDF per document, yielded piece by piece as documents are rendered."""
        sink = _Sink()
        name_iter = iter(names)
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
            for parts in self._ordered(kind, contexts, chunk, split=True):
                for pdf in parts:
                    archive.writestr(next(name_iter), pdf)
                    yield sink.take()
        yield sink.take()


def _worker_ready() -> bool:
    return _worker is not None


class _Sink(io.RawIOBase):
    """A write-only, non-seekable stream whose bytes are taken as they come (zip streaming)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        out = bytes(self._buffer)
        self._buffer.clear()
        return out
