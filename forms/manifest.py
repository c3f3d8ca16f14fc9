"""The catalog's integrity: a manifest of SHA-256 hashes of every template and stylesheet.

The app refuses to start when a file under ``forms/templates`` differs from the manifest, has been
added or is missing, naming the file: a template cannot be edited in place on a server. The
renderer loads templates only from the bytes checked here, never from the disk again.

A developer who changes a form on purpose regenerates the manifest with
``python -m forms.manifest --write`` and the change goes through review like any code.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

TEMPLATE_DIR = Path(__file__).parent / "templates"
MANIFEST_PATH = Path(__file__).parent / "manifest.json"
SUFFIXES = {".html", ".css"}


class CatalogTampered(RuntimeError):
    """A form file differs from the manifest; the message names the files (Japanese)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "標準様式のファイルが改変されているため起動できません: " + "、".join(problems)
        )


def _files(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.suffix in SUFFIXES
    }


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compute(directory: Path = TEMPLATE_DIR) -> dict[str, str]:
    return {name: digest(data) for name, data in _files(directory).items()}


def load(path: Path = MANIFEST_PATH) -> dict[str, str]:
    manifest: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))["files"]
    return manifest


def verified_sources(
    directory: Path = TEMPLATE_DIR, manifest_path: Path = MANIFEST_PATH
) -> dict[str, str]:
    """Every catalog file's text, after checking each against the manifest."""
    expected = load(manifest_path)
    files = _files(directory)
    problems = []
    for name in sorted(set(expected) | set(files)):
        where = f"forms/templates/{name}"
        if name not in files:
            problems.append(f"{where}（ファイルがありません）")
        elif name not in expected:
            problems.append(f"{where}（マニフェストにないファイルです）")
        elif digest(files[name]) != expected[name]:
            problems.append(f"{where}（内容が一致しません）")
    if problems:
        raise CatalogTampered(problems)
    return {name: data.decode("utf-8") for name, data in files.items()}


def write(directory: Path = TEMPLATE_DIR, path: Path = MANIFEST_PATH) -> None:
    body = {"algorithm": "sha256", "files": compute(directory)}
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":  # python -m forms.manifest --write
    if sys.argv[1:] == ["--write"]:
        write()
        print(f"wrote {MANIFEST_PATH}")
    else:
        verified_sources()
        print("forms catalog matches its manifest")
