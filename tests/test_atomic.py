"""Atomic folder writes (``icaht.atomic.atomic_dir``): the folder appears complete or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from icaht.atomic import atomic_dir, partial_path


def test_a_folder_appears_only_when_complete(tmp_path: Path) -> None:
    out = tmp_path / "cohort"
    with atomic_dir(out) as staging:
        (staging / "a.csv").write_text("x\n", encoding="utf-8")
        assert not out.exists()
    assert (out / "a.csv").read_text(encoding="utf-8") == "x\n"
    assert not partial_path(out).exists()


def test_an_empty_folder_is_replaced_and_a_stale_partial_removed(tmp_path: Path) -> None:
    out = tmp_path / "cohort"
    out.mkdir()
    stale = partial_path(out)
    stale.mkdir()
    (stale / "left-over.csv").write_text("old\n", encoding="utf-8")
    with atomic_dir(out) as staging:
        assert list(staging.iterdir()) == []
        (staging / "b.csv").write_text("y\n", encoding="utf-8")
    assert [p.name for p in out.iterdir()] == ["b.csv"]


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "cohort"

    def interrupted() -> None:
        with atomic_dir(out) as staging:
            (staging / "a.csv").write_text("x\n", encoding="utf-8")
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        interrupted()
    assert not out.exists()
    assert not partial_path(out).exists()
