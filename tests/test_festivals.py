"""Festival dates: Qingming by formula agrees with the holidays package."""

from __future__ import annotations

import holidays

from playbook_engine.festivals import _qingming, festivals_in_year


def test_qingming_by_formula_is_the_day_the_holidays_package_gives_china():
    years = range(1901, 2100)
    table = holidays.country_holidays("CN", years=years)
    listed = {day.year: day for day, name in sorted(table.items(), reverse=True) if name == "Tomb-Sweeping Day"}
    assert set(range(2008, 2100)) <= set(listed)  # a public holiday since 2008
    assert {year: _qingming(year) for year in listed} == listed
    assert {_qingming(year).day for year in years} == {4, 5, 6}


def test_qingming_is_among_the_year_s_chinese_festivals():
    assert (_qingming(2026), "qingming") in festivals_in_year(2026, None)
    assert str(_qingming(2026)) == "2026-04-05" and str(_qingming(2024)) == "2024-04-04"
