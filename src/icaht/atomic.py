"""Atomic writes: a file (or folder) is written as ``NAME.partial`` and renamed to ``NAME`` only
when the write completes, so an interrupted or failed run never leaves a half-written result
under the final name (and never replaces a good one)."""

from __future__ import annotations

import os
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
    renamed to ``path`` when the block ends without an exception, removed with its contents when
    it raises. A folder already at ``path`` is replaced: moved to ``NAME.old.partial`` just before
    the rename and deleted after it (so every name this module leaves behind ends in
    ``.partial``, and none is a user's folder)."""
    partial = partial_path(path)
    old = partial_path(path.with_name(path.name + ".old"))
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    with atomic_path(path) as filled:
        yield filled
        if old.exists():
            shutil.rmtree(old)
        if path.exists():
            path.rename(old)
    if old.exists():
        shutil.rmtree(old)


@contextmanager
def atomic_text(path: Path, newline: str | None = None, mode: int = 0o666) -> Iterator[IO[str]]:
    """A UTF-8 text handle on a new partial file; closed, then renamed to ``path`` on success.
    The file is created with the permission bits ``mode`` (less the umask), so a private file
    (``0o600``) is never readable by others, not even while it is written."""
    with atomic_path(path) as partial:
        partial.unlink(missing_ok=True)  # one left by an interrupted run keeps its old mode
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline=newline) as out:
            yield out


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_text(path) as handle:
        handle.write(text)
