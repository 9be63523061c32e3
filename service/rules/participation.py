"""Full participation from the times a person was in the meeting (SPEC §6).

The seed: a certificate of attendance needs full participation, checked in during the opening round and
present until the closing round; late arrivals are not admitted after about 15 minutes. SPEC §6 makes
that three configurable numbers: joined at most 15 minutes after the start, present until at most 10
minutes before the end, and away at most 10 minutes in all in between. Reconnects and second devices are
merged by interval union (a second device adds no time). The rule compares exact seconds; the numbers it
reports are whole minutes rounded down, within the session's window.
"""

import datetime as dt
import itertools
from collections.abc import Iterable

import msgspec

Interval = tuple[dt.datetime, dt.datetime]


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """The three numbers, in minutes (Settings.max_late_minutes and its siblings)."""

    max_late_minutes: int = 15
    max_early_minutes: int = 10
    max_away_minutes: int = 10


class Participation(msgspec.Struct, frozen=True, kw_only=True):
    full: bool
    minutes_present: int
    joined_late_minutes: int
    left_early_minutes: int
    # Which limit was passed, by the exact seconds (15 min 1 s late is too late; its whole minutes are 15).
    joined_too_late: bool
    left_too_early: bool
    notes: tuple[str, ...]


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Overlapping or touching intervals merged, in order; empty and reversed ones dropped."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def clip(intervals: Iterable[Interval], start: dt.datetime, end: dt.datetime) -> list[Interval]:
    """The parts of (merged) intervals inside [start, end]."""
    return [(max(s, start), min(e, end)) for s, e in intervals if e > start and s < end]


def _seconds(span: dt.timedelta) -> float:
    return span.total_seconds()


def _minutes(seconds: float) -> int:
    return int(seconds // 60)


def _length(seconds: float, limit_minutes: int) -> str:
    """ "24 min"; with the seconds when the whole minutes alone would hide that the limit was passed."""
    minutes, rest = divmod(int(seconds), 60)
    if minutes == 0:
        return f"{rest} s" if rest else "0 min"
    if minutes == limit_minutes and rest:
        return f"{minutes} min {rest} s"
    return f"{minutes} min"


def judge_participation(
    intervals: Iterable[Interval], start: dt.datetime, end: dt.datetime, limits: Limits
) -> Participation:
    """Whether the person took part in full between `start` and `end`, the numbers behind it, and notes
    a facilitator reads ("joined 24 min late (more than 15 min)"). Datetimes must be comparable (all
    aware, in any zone: arithmetic is exact across a daylight-saving change when they are in UTC)."""
    raw = [i for i in intervals if i[1] > i[0]]
    present = clip(union(raw), start, end)
    window = _seconds(end - start)
    if not present:
        whole = _minutes(window)
        return Participation(
            full=False,
            minutes_present=0,
            joined_late_minutes=whole,
            left_early_minutes=whole,
            joined_too_late=True,
            left_too_early=True,
            notes=("not in the meeting during the session",),
        )
    late = _seconds(present[0][0] - start)
    early = _seconds(end - present[-1][1])
    away = sum(_seconds(later[0] - earlier[1]) for earlier, later in itertools.pairwise(present))
    reconnects = len(present) - 1
    late_ok = late <= limits.max_late_minutes * 60
    early_ok = early <= limits.max_early_minutes * 60
    away_ok = away <= limits.max_away_minutes * 60

    notes = []
    if late >= 60 or not late_ok:
        over = "" if late_ok else f" (more than {limits.max_late_minutes} min)"
        notes.append(f"joined {_length(late, limits.max_late_minutes)} late{over}")
    if early >= 60 or not early_ok:
        over = "" if early_ok else f" (more than {limits.max_early_minutes} min)"
        notes.append(f"left {_length(early, limits.max_early_minutes)} early{over}")
    if reconnects:
        over = "" if away_ok else f" (more than {limits.max_away_minutes} min in all)"
        times = "1 time" if reconnects == 1 else f"{reconnects} times"
        notes.append(f"reconnected {times}, away {_length(away, limits.max_away_minutes)}{over}")
    doubled = sum(_seconds(e - s) for s, e in clip(raw, start, end)) - sum(
        _seconds(e - s) for s, e in present
    )
    if doubled >= 60:
        notes.append(f"connected on two devices at once for {_minutes(doubled)} min (counted once)")
    return Participation(
        full=late_ok and early_ok and away_ok,
        minutes_present=_minutes(sum(_seconds(e - s) for s, e in present)),
        joined_late_minutes=_minutes(late),
        left_early_minutes=_minutes(early),
        joined_too_late=not late_ok,
        left_too_early=not early_ok,
        notes=tuple(notes),
    )
