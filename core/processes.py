"""Starting worker processes (``spawn``) that need nothing of the parent's main module."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_main_module() -> Iterator[None]:
    """Processes spawned inside this block do not import the parent's ``__main__``.

    A spawned process first imports the module its parent runs as ``__main__`` (the ``jichitai``
    CLI, a benchmark script), because a task could name a function defined there — seconds of
    imports per process for workers whose tasks live in a light module of their own.
    ``multiprocessing`` records the main module when it starts a process: during the start it
    sees a bare one, with neither a file nor a module name to import. Only for workers whose
    initializer and tasks are importable by name; the real module is back when the block ends.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main
