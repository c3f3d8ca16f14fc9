"""Worker processes started without the parent's main module (core.processes)."""

from __future__ import annotations

import multiprocessing
import sys
import types
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from core.processes import without_main_module


def main_module_imported() -> bool:
    """In a spawned process: whether the parent's main script ran here (as ``__mp_main__``,
    which a spawned process then also knows as ``__main__``)."""
    return hasattr(sys.modules["__main__"], "SCRIPT_LOADED")


def _spawned_sees_main(inside: bool) -> bool:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        if inside:
            with without_main_module():
                future = pool.submit(main_module_imported)
        else:
            future = pool.submit(main_module_imported)
        return future.result()


def test_a_worker_spawned_inside_the_block_does_not_import_the_main_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The parent runs a script (as the jichitai CLI does): a spawned process imports it first.
    script = tmp_path / "script.py"
    script.write_text("SCRIPT_LOADED = True\n", encoding="utf-8")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)

    assert _spawned_sees_main(inside=False) is True
    assert _spawned_sees_main(inside=True) is False
    assert sys.modules["__main__"] is main  # the real one is back
