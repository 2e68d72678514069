"""Holiday dates: Chinese public and traditional festivals by default, any country on request.

Traditional festivals follow the lunar calendar (lunardate); Qingming is a solar term (see
``_qingming``); other countries' public holidays come from the maintained ``holidays`` package,
imported only when a playbook names a country (importing it and building China's table took
a sixth of a daily run's start-up). Names can be written as ids (``mid_autumn``) or in
Chinese (``中秋节``/``中秋``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache

from lunardate import LunarDate


def _solar(month: int, day: int) -> Callable[[int], date]:
    return lambda year: date(year, month, day)


def _lunar(month: int, day: int) -> Callable[[int], date]:
    return lambda year: LunarDate(year, month, day).to_solar_date()


def _new_years_eve(year: int) -> date:
    return LunarDate(year, 1, 1).to_solar_date() - timedelta(days=1)


def _qingming(year: int) -> date:
    """Qingming, the solar term at 15° of solar longitude: April 4, 5 or 6.

    For 1901–2099 the day is the common solar-term formula ⌊Y·0.2422 + C⌋ − ⌊L/4⌋ (Y: the
    year in its century; C = 5.59, L = Y − 1 in the 1900s; C = 4.81, L = Y in the 2000s), which
    gives the ``holidays`` package's dates for all of those years (tests/test_festivals.py);
    outside them the ``holidays`` package decides.
    """
    if 1901 <= year <= 2099:
        y = year % 100
        if year < 2000:
            return date(year, 4, int(y * 0.2422 + 5.59) - (y - 1) // 4)
        return date(year, 4, int(y * 0.2422 + 4.81) - y // 4)
    import holidays

    table = holidays.country_holidays("CN", years=year)
    return min(day for day, name in table.items() if name == "Tomb-Sweeping Day")


# id: (Chinese names, date in a given Gregorian year)
CHINESE_FESTIVALS: dict[str, tuple[tuple[str, ...], Callable[[int], date]]] = {
    "new_year": (("元旦",), _solar(1, 1)),
    "new_years_eve": (("除夕",), _new_years_eve),
    "spring_festival": (("春节",), _lunar(1, 1)),
    "lantern": (("元宵节", "元宵"), _lunar(1, 15)),
    "womens_day": (("妇女节",), _solar(3, 8)),
    "qingming": (("清明节", "清明"), _qingming),
    "labor_day": (("劳动节", "五一"), _solar(5, 1)),
    "youth_day": (("青年节",), _solar(5, 4)),
    "childrens_day": (("儿童节",), _solar(6, 1)),
    "dragon_boat": (("端午节", "端午"), _lunar(5, 5)),
    "qixi": (("七夕节", "七夕"), _lunar(7, 7)),
    "teachers_day": (("教师节",), _solar(9, 10)),
    "mid_autumn": (("中秋节", "中秋"), _lunar(8, 15)),
    "national_day": (("国庆节", "国庆"), _solar(10, 1)),
    "double_ninth": (("重阳节", "重阳"), _lunar(9, 9)),
    "laba": (("腊八节", "腊八"), _lunar(12, 8)),
}
_ALIASES = {alias: key for key, (names, _) in CHINESE_FESTIVALS.items() for alias in (key, *names)}


def known_names(country: str | None) -> list[str]:
    """Names a playbook may use for ``country`` (None: the Chinese calendar)."""
    if country is None:
        return sorted(_ALIASES)
    import holidays

    table = holidays.country_holidays(country, years=range(2024, 2031))
    return sorted(set(table.values()))


def canonical(name: str, country: str | None) -> str | None:
    """The id of ``name`` for ``country``, or None if unknown."""
    if country is None:
        return _ALIASES.get(name)
    return name if name in known_names(country) else None


def check_country(country: str) -> str | None:
    """An error message if ``country`` is not a country the holidays package knows."""
    import holidays

    if country.upper() not in holidays.list_supported_countries():
        return f"unknown country `{country}` — write an ISO code such as US, GB, JP, SG"
    return None


@lru_cache(maxsize=64)
def festivals_in_year(year: int, country: str | None) -> tuple[tuple[date, str], ...]:
    """(date, id) of every festival in ``year``, sorted by date."""
    if country is None:
        # A lunar festival of Gregorian year Y may belong to lunar year Y-1 (腊八 in January).
        candidates = {(when(lunar_year), key) for key, (_, when) in CHINESE_FESTIVALS.items() for lunar_year in (year - 1, year)}
        found = [(day, key) for day, key in candidates if day.year == year]
    else:
        import holidays

        found = [(day, name) for day, name in holidays.country_holidays(country, years=year).items()]
    return tuple(sorted(found))


def label(key: str, country: str | None) -> str:
    if country is None and key in CHINESE_FESTIVALS:
        return CHINESE_FESTIVALS[key][0][0]
    return key
