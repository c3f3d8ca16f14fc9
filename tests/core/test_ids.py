"""Row ids: UUID version 7, time-ordered, unique across threads and across a fork."""

from __future__ import annotations

import os
import threading
import time
import uuid

from core.ids import new_id, new_id_text


def test_an_id_is_a_version_7_uuid_carrying_the_time() -> None:
    before = time.time_ns() // 1_000_000
    value = new_id()
    after = time.time_ns() // 1_000_000
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert before <= value.int >> 80 <= after


def test_ids_are_unique_and_follow_the_clock() -> None:
    first = [new_id() for _ in range(3_000)]  # several blocks of random bytes
    time.sleep(0.002)
    later = new_id()
    assert len(set(first)) == len(first)
    assert all(later > value for value in first)


def test_threads_never_share_an_id() -> None:
    out: list[list[uuid.UUID]] = [[] for _ in range(4)]

    def make(bucket: list[uuid.UUID]) -> None:
        bucket.extend(new_id() for _ in range(2_000))

    threads = [threading.Thread(target=make, args=(bucket,)) for bucket in out]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [value for bucket in out for value in bucket]
    assert len(set(every)) == len(every) == 8_000


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    new_id()  # the parent now holds a block of random bytes
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send its next ids and leave at once
        os.close(read)
        os.write(write, b"".join(new_id().bytes for _ in range(10)))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    child = {uuid.UUID(bytes=data[i : i + 16]) for i in range(0, len(data), 16)}
    parent = {new_id() for _ in range(10)}
    assert len(child) == 10
    # Same millisecond or not, the random parts differ: no id in common.
    assert not child & parent
    assert {c.int & ((1 << 62) - 1) for c in child}.isdisjoint(
        {p.int & ((1 << 62) - 1) for p in parent}
    )


def test_an_id_as_text_is_the_canonical_text_of_a_version_7_uuid() -> None:
    before = new_id()
    texts = [new_id_text() for _ in range(1_000)]
    after = new_id()
    for text in texts:
        parsed = uuid.UUID(text)
        assert str(parsed) == text  # lower-case hex, dashes where the canonical form has them
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    ordered = [before, *(uuid.UUID(t) for t in texts), after]
    assert [u.int >> 80 for u in ordered] == sorted(u.int >> 80 for u in ordered)  # the clock
    assert len(set(texts)) == len(texts)
