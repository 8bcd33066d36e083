"""The test tree mirrors the source tree (issue 19): a folder of tests is named for the package
it tests, so ``tests/service/dashboard`` holds the dashboard's tests; shared test helpers live in
``tests/utils``. Folders that hold data, golden files, screenshots or browser tests are named
here once."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
SRC = ROOT / "src" / "icaht"
#: Folders that are not a package's tests: shared helpers, recorded outputs and data.
NOT_PACKAGES = {"utils", "golden", "artifacts", "data", "browser", "__pycache__"}


def _test_folders(base: Path = TESTS) -> list[Path]:
    return sorted(
        p
        for p in base.rglob("*")
        if p.is_dir() and not NOT_PACKAGES & set(p.relative_to(base).parts)
    )


def test_every_test_folder_names_a_source_package() -> None:
    folders = _test_folders()
    assert len(folders) >= 10
    missing = [
        str(p.relative_to(TESTS)) for p in folders if not (SRC / p.relative_to(TESTS)).is_dir()
    ]
    assert missing == []


def test_no_helper_module_at_the_top_of_the_tests() -> None:
    """A module at the top of ``tests`` is a cross-cutting test (``test_*.py``) or the root
    conftest; helpers go to ``tests/utils``."""
    loose = [
        p.name
        for p in TESTS.glob("*.py")
        if not p.name.startswith("test_") and p.name != "conftest.py"
    ]
    assert loose == []


def test_the_checker_sees_a_folder_without_a_package(tmp_path: Path) -> None:
    (tmp_path / "dashboard").mkdir()
    (tmp_path / "utils").mkdir()
    assert [p.name for p in _test_folders(tmp_path)] == ["dashboard"]
    assert not (SRC / "dashboard").is_dir()
