"""Atomic writes: a file (or folder) is written as ``NAME.partial`` and renamed to ``NAME`` only
when the write completes, so an interrupted or failed run never leaves a half-written result
under the final name (and never replaces a good one)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

PARTIAL_SUFFIX = ".partial"


def partial_path(path: Path) -> Path:
    """Where ``path`` is written before it is complete."""
    return path.with_name(path.name + PARTIAL_SUFFIX)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """The partial path to write; renamed to ``path`` when the block ends without an exception,
    removed (file or folder) when it raises."""
    partial = partial_path(path)
    try:
        yield partial
    except BaseException:
        if partial.is_dir():
            shutil.rmtree(partial, ignore_errors=True)
        else:
            partial.unlink(missing_ok=True)
        raise
    partial.replace(path)


@contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """A new, empty partial folder to fill (one left by an interrupted run is removed first);
    renamed to ``path`` (absent, or an empty folder that is replaced) when the block ends
    without an exception, removed with its contents when it raises."""
    partial = partial_path(path)
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    with atomic_path(path) as filled:
        yield filled
        if path.is_dir():
            path.rmdir()


@contextmanager
def atomic_text(path: Path, newline: str | None = None) -> Iterator[IO[str]]:
    """A UTF-8 text handle on the partial file; closed, then renamed to ``path`` on success."""
    with atomic_path(path) as partial, partial.open("w", encoding="utf-8", newline=newline) as out:
        yield out


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_text(path) as handle:
        handle.write(text)
