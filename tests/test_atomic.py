"""Atomic writes (``icaht.atomic``): a folder or file appears complete or not at all."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from icaht.atomic import atomic_dir, atomic_text, partial_path, write_text_atomic


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


def test_a_full_folder_is_replaced_only_when_the_new_one_is_complete(tmp_path: Path) -> None:
    out = tmp_path / "tables"
    out.mkdir()
    (out / "stale.csv").write_text("old\n", encoding="utf-8")
    with atomic_dir(out) as staging:
        (staging / "new.csv").write_text("new\n", encoding="utf-8")
        assert [p.name for p in out.iterdir()] == ["stale.csv"]
    assert [p.name for p in out.iterdir()] == ["new.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["tables"]


def _interrupted_dir(out: Path) -> None:
    with atomic_dir(out) as staging:
        (staging / "half.csv").write_text("ha", encoding="utf-8")
        raise RuntimeError("interrupted")


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "cohort"
    with pytest.raises(RuntimeError):
        _interrupted_dir(out)
    assert not out.exists()
    assert not partial_path(out).exists()


def test_a_failed_replacement_keeps_the_old_folder(tmp_path: Path) -> None:
    out = tmp_path / "tables"
    out.mkdir()
    (out / "good.csv").write_text("good\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        _interrupted_dir(out)
    assert [p.name for p in tmp_path.iterdir()] == ["tables"]
    assert [p.name for p in out.iterdir()] == ["good.csv"]


def test_an_interrupted_text_write_leaves_no_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    write_text_atomic(target, "good")

    def interrupted(path: Path) -> None:
        with atomic_text(path) as handle:
            handle.write("half")
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        interrupted(target)
    assert target.read_text(encoding="utf-8") == "good"
    with pytest.raises(RuntimeError):
        interrupted(tmp_path / "new.txt")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_private_file_is_never_readable_by_others(tmp_path: Path) -> None:
    target = tmp_path / "secret"
    stale = partial_path(target)
    stale.write_text("left over", encoding="utf-8")
    stale.chmod(0o644)
    with atomic_text(target, mode=0o600) as handle:
        assert stat.S_IMODE(stale.stat().st_mode) == 0o600
        handle.write("s3cret")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text(encoding="utf-8") == "s3cret"
