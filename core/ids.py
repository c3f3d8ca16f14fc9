"""Row identifiers: time-ordered UUIDs (version 7, RFC 9562).

Tenant-scoped tables key on ``(tenant_id, id)``; a composite key cannot autoincrement on SQLite,
and random UUIDs scatter inserts across a B-tree, so ids are generated here, in time order.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_RANDOM_BYTES = 10  # 74 of these 80 bits are used: rand_a (12) and rand_b (62)
_BLOCK = _RANDOM_BYTES * 256


class _Entropy(threading.local):
    """Random bytes from the OS, fetched a block at a time per thread.

    One ``os.urandom`` call per id cost a system call each — and, in a batch that writes on one
    thread while another computes, a hand-over of the interpreter lock each (≈ 20 µs an id,
    seconds for the 300,000 rows of an NHI run). The bytes are the same CSPRNG output, used once.
    """

    def __init__(self) -> None:
        self.block = b""
        self.at = 0

    def take(self) -> int:
        if self.at >= len(self.block):
            self.block, self.at = os.urandom(_BLOCK), 0
        value = int.from_bytes(self.block[self.at : self.at + _RANDOM_BYTES], "big")
        self.at += _RANDOM_BYTES
        return value


_entropy = _Entropy()


def _forget_after_fork() -> None:
    # A forked child must not replay its parent's unused bytes (the same ids in two processes).
    _entropy.block, _entropy.at = b"", 0


os.register_at_fork(after_in_child=_forget_after_fork)


def new_id() -> uuid.UUID:
    return uuid.UUID(int=_new_value())


def new_id_text() -> str:
    """A new id as its canonical text (``str(new_id())``), without building the UUID object:
    for rows written as COPY text in a batch's worker processes, three ids a household."""
    h = f"{_new_value():032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _new_value() -> int:
    ms = time.time_ns() // 1_000_000
    rand = _entropy.take()
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a: 12 bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)  # rand_b: 62 bits
    return value
