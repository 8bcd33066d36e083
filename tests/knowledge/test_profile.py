"""Institution profiles: shipped ones load, invalid ones are refused naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from icaht.errors import ProfileError
from icaht.knowledge.profile import DEFAULT_PROFILE, load_profile, parse_profile, shipped_profiles


def test_shipped_profiles() -> None:
    assert {"seed-2023", "icaht-2023"} <= set(shipped_profiles())
    default = load_profile()
    assert default.name == DEFAULT_PROFILE == "seed-2023"
    # docs/decisions.md (Grading): longest_run and lowest_confirmed are the ICAHT defaults,
    # T-ICAHT counts cumulative days, late window to day 100.
    assert default.icaht.duration_method == "longest_run"
    assert default.icaht.late_rule == "lowest_confirmed"
    assert default.icaht.late_window_end_day == 100
    assert default.ticaht.duration_method == "cumulative"
    assert default.transfusion.platelet_dependence_window_days == 14
    assert default.transfusion.rbc_dependence_window_days == 28
    assert load_profile("icaht-2023").name == "icaht-2023"


def test_unknown_setting_is_named() -> None:
    with pytest.raises(ProfileError) as info:
        parse_profile('name = "x"\nversion = "1"\n[icaht]\nduraton_method = "cumulative"\n', "t")
    assert "icaht.duraton_method: unknown setting" in str(info.value)


def test_out_of_range_value_is_named() -> None:
    with pytest.raises(ProfileError) as info:
        parse_profile('name = "x"\nversion = "1"\n[icaht]\nlate_window_end_day = 120\n', "t")
    assert "icaht.late_window_end_day" in str(info.value)
    assert "120" in str(info.value)


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="not valid TOML"):
        parse_profile("name = ", "t")
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "absent.toml")
    with pytest.raises(ProfileError, match="no such profile"):
        load_profile("nonexistent-profile")


def test_custom_profile_file(tmp_path: Path) -> None:
    path = tmp_path / "centre.toml"
    path.write_text(
        'name = "centre"\nversion = "7"\n[transfusion]\nplatelet_dependence_window_days = 7\n',
        encoding="utf-8",
    )
    profile = load_profile(path)
    assert (profile.name, profile.version) == ("centre", "7")
    assert profile.transfusion.platelet_dependence_window_days == 7
