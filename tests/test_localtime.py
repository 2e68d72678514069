"""The cached local-time answers are exactly datetime's, across DST and odd offsets."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from playbook_engine.localtime import LocalTime

ZONES = ["Asia/Shanghai", "America/New_York", "America/St_Johns", "Australia/Lord_Howe", "Europe/London", "Asia/Kathmandu", "Pacific/Chatham"]
# 2000-01-01 .. 2040-01-01, whole and fractional seconds.
INSTANTS = st.floats(min_value=946684800, max_value=2208988800, allow_nan=False).map(lambda t: round(t, 3))
NEW_YORK_SPRING_2026 = 1772953200.0  # 2026-03-08 03:00 EDT: the instant clocks jumped forward


@settings(max_examples=400, deadline=None)
@given(zone=st.sampled_from(ZONES), t=INSTANTS, nudge=st.integers(min_value=-3600, max_value=3600))
@example(zone="America/New_York", t=NEW_YORK_SPRING_2026, nudge=-1)
@example(zone="America/New_York", t=NEW_YORK_SPRING_2026, nudge=0)
@example(zone="Australia/Lord_Howe", t=1775314800.0, nudge=-1)  # 2026-04-05 02:00 +11:00 becomes 01:30 +10:30
def test_local_day_and_text_agree_with_datetime(zone, t, nudge):
    tz = ZoneInfo(zone)
    local = LocalTime(tz)
    for moment in (t + nudge, t, t - nudge):
        # Floor to whole seconds so datetime's microsecond rounding cannot carry into a minute.
        moment = float(int(moment))
        expected = datetime.fromtimestamp(moment, tz)
        assert local.day(moment) == expected.toordinal()
        assert local.text(moment) == expected.strftime("%Y-%m-%d %H:%M")
        assert local.date_text(moment) == expected.strftime("%Y-%m-%d")


def test_a_slice_with_a_transition_inside_is_answered_exactly():
    tz = ZoneInfo("America/St_Johns")  # -03:30 / -02:30, transitions at 02:00 local
    local = LocalTime(tz)
    spring = datetime(2026, 3, 8, 1, 59, 59, tzinfo=tz).timestamp()
    for moment in range(int(spring) - 1800, int(spring) + 1800, 37):
        assert local.text(moment) == datetime.fromtimestamp(moment, tz).strftime("%Y-%m-%d %H:%M")


def test_one_instance_asked_about_day_after_day_and_back_agrees_with_datetime_across_midnight_transitions():
    # Zones whose clocks change at local midnight (Santiago, Havana, Beirut, Asunción), one that
    # fell back from 00:01 to 23:01 of the day before (Goose Bay until 2011), or never; the last
    # day asked about is remembered, so walk forwards, then back again.
    zones = [("America/Santiago", 2026), ("America/Havana", 2026), ("Asia/Beirut", 2026), ("America/Asuncion", 2026), ("America/Goose_Bay", 2010), ("America/New_York", 2026), ("Asia/Shanghai", 2026)]
    for zone, year in zones:
        tz = ZoneInfo(zone)
        local = LocalTime(tz)
        start = datetime(year, 1, 1, tzinfo=tz).timestamp()
        moments = [start + step * 1234.5 for step in range(0, 26_000)]  # a year, every 20 minutes or so
        for moment in moments + moments[::-7]:
            assert local.day(moment) == datetime.fromtimestamp(moment, tz).toordinal(), (zone, moment)
