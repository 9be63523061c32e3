"""The full-participation rule of SPEC §6, table-driven: its edges are exact seconds.

Joined at most 15 min after the start, present until at most 10 min before the end, away at most 10 min
in all in between (the three numbers configurable); reconnects and second devices merged by interval union;
reported numbers are whole minutes rounded down, within the session's window.
"""

import datetime as dt

import pytest

from service.rules.participation import Limits, clip, judge_participation, union

START = dt.datetime(2026, 3, 4, 23, 0, tzinfo=dt.UTC)  # 18:00 in New York
END = START + dt.timedelta(minutes=90)
DEFAULT = Limits()


def at(minutes: float) -> dt.datetime:
    """START plus a number of minutes (fractions are seconds: 15 + 1/60 is 15 min 1 s)."""
    return START + dt.timedelta(seconds=round(minutes * 60))


def spans(*pairs: tuple[float, float]) -> list[tuple[dt.datetime, dt.datetime]]:
    return [(at(a), at(b)) for a, b in pairs]


S = 1 / 60  # one second, in minutes


@pytest.mark.parametrize(
    ("case", "intervals", "full", "present", "late", "early"),
    [
        ("whole session", [(0, 90)], True, 90, 0, 0),
        ("joined early, stayed late: clipped to the window", [(-20, 110)], True, 90, 0, 0),
        ("joined exactly 15:00 late", [(15, 90)], True, 75, 15, 0),
        ("joined 15:01 late", [(15 + S, 90)], False, 74, 15, 0),
        ("joined 14:59 late", [(15 - S, 90)], True, 75, 14, 0),
        ("left exactly 10:00 early", [(0, 80)], True, 80, 0, 10),
        ("left 10:01 early", [(0, 80 - S)], False, 79, 0, 10),
        ("late 15:00 and early 10:00 both at the limit", [(15, 80)], True, 65, 15, 10),
        ("away exactly 10:00 in one gap", [(0, 40), (50, 90)], True, 80, 0, 0),
        ("away 10:01 in one gap", [(0, 40), (50 + S, 90)], False, 79, 0, 0),
        ("away 10:00 in two gaps of 5", [(0, 20), (25, 60), (65, 90)], True, 80, 0, 0),
        ("away 10:01 in two gaps", [(0, 20), (25, 60), (65 + S, 90)], False, 79, 0, 0),
        ("two devices overlapping: union, not sum", [(0, 60), (30, 90)], True, 90, 0, 0),
        ("touching rows are no reconnect", [(0, 45), (45, 90)], True, 90, 0, 0),
        ("a gap before the start does not count as away", [(-10, -5), (-2, 90)], True, 90, 0, 0),
        ("a gap after the end does not count as away", [(0, 95), (100, 110)], True, 90, 0, 0),
        ("only before the session", [(-30, -1)], False, 0, 90, 90),
        ("only after the session", [(91, 120)], False, 0, 90, 90),
        ("no rows at all", [], False, 0, 90, 90),
        ("a row that ends before it starts is ignored", [(0, 90), (60, 50)], True, 90, 0, 0),
        ("seconds are rounded down", [(1.5, 90)], True, 88, 1, 0),
    ],
)
def test_rule(case, intervals, full, present, late, early):
    judged = judge_participation(spans(*intervals), START, END, DEFAULT)
    assert (judged.full, judged.minutes_present, judged.joined_late_minutes, judged.left_early_minutes) == (
        full,
        present,
        late,
        early,
    ), case


@pytest.mark.parametrize(
    ("limits", "intervals", "full"),
    [
        (Limits(max_late_minutes=5), [(5, 90)], True),
        (Limits(max_late_minutes=5), [(5 + S, 90)], False),
        (Limits(max_late_minutes=30), [(25, 90)], True),
        (Limits(max_early_minutes=0), [(0, 90 - S)], False),
        (Limits(max_early_minutes=20), [(0, 70)], True),
        (Limits(max_away_minutes=0), [(0, 40), (40 + S, 90)], False),
        (Limits(max_away_minutes=30), [(0, 30), (55, 90)], True),
    ],
)
def test_the_three_numbers_are_configurable(limits, intervals, full):
    assert judge_participation(spans(*intervals), START, END, limits).full is full


@pytest.mark.parametrize(
    ("intervals", "notes"),
    [
        ([(0, 90)], ()),
        ([(24 + 9 * S, 90.2)], ("joined 24 min late (more than 15 min)",)),
        ([(2, 55 + 40 * S)], ("joined 2 min late", "left 34 min early (more than 10 min)")),
        (
            [(1 + 13 * S, 40 + 55 * S), (42.5, 90.8)],
            ("joined 1 min late", "reconnected 1 time, away 1 min"),
        ),
        ([(0, 30), (30.5, 60), (61, 90)], ("reconnected 2 times, away 1 min",)),
        ([(0, 30), (30 + 35 * S, 90)], ("reconnected 1 time, away 35 s",)),
        ([(0, 40), (51, 90)], ("reconnected 1 time, away 11 min (more than 10 min in all)",)),
        ([(15 + S, 90)], ("joined 15 min 1 s late (more than 15 min)",)),
        ([(0, 80 - S)], ("left 10 min 1 s early (more than 10 min)",)),
        ([(0.5, 90)], ()),  # 30 s late is on time, in words too
        ([(0, 60), (55, 90)], ("connected on two devices at once for 5 min (counted once)",)),
        ([(-30, -1)], ("not in the meeting during the session",)),
    ],
)
def test_notes_say_what_the_numbers_mean(intervals, notes):
    assert judge_participation(spans(*intervals), START, END, DEFAULT).notes == notes


def test_reconnects_and_time_away_are_counted_inside_the_window():
    judged = judge_participation(spans((-5, 20), (22, 50), (53, 95), (96, 100)), START, END, DEFAULT)
    assert (judged.notes, judged.minutes_present) == (("reconnected 2 times, away 5 min",), 85)


@pytest.mark.parametrize(
    ("intervals", "too_late", "too_early"),
    [
        ([(15, 90)], False, False),
        ([(15 + S, 90)], True, False),  # 15 whole minutes, yet past the limit
        ([(0, 80 - S)], False, True),
        ([(16, 79)], True, True),
        ([(-30, -1)], True, True),  # never there
    ],
)
def test_which_limit_was_passed_is_told_by_the_exact_seconds(intervals, too_late, too_early):
    """What the portal highlights: the minutes it shows are rounded down, the limits are not."""
    judged = judge_participation(spans(*intervals), START, END, DEFAULT)
    assert (judged.joined_too_late, judged.left_too_early) == (too_late, too_early)


def test_union_merges_overlapping_and_touching_intervals_in_order():
    merged = union(spans((50, 60), (0, 10), (5, 20), (20, 30), (40, 45), (41, 42)))
    assert merged == spans((0, 30), (40, 45), (50, 60))
    assert union([]) == []
    assert union(spans((10, 10), (20, 15))) == []


def test_clip_keeps_only_the_window():
    assert clip(spans((-10, 5), (20, 30), (85, 100), (100, 120)), START, END) == spans(
        (0, 5), (20, 30), (85, 90)
    )


def test_datetimes_in_any_zone_compare_exactly():
    new_york = dt.timezone(dt.timedelta(hours=-5))
    local = [(START.astimezone(new_york) + dt.timedelta(minutes=15, seconds=1), END.astimezone(new_york))]
    assert judge_participation(local, START, END, DEFAULT).full is False
