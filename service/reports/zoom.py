"""Zoom's participant report ("Usage" / "Meetings" → Participants → Export).

What the exports vary, all read here: the meeting overview block (Meeting ID, Topic, Start Time, …, then
a blank row) is there only when "Export with meeting data" was ticked; header casing changed over the
years ("Join Time" / "Join time", "User Email" / "Email"); newer exports add "In Waiting Room" and
"Recording Consent". Each connection is a row, so a reconnect or a second device is several rows. A
renamed person is "Current (Original)" under "Name (Original Name)". With "Show unique users" ticked the
export has one row per person and only "Total Duration (Minutes)": no join or leave times.
"""

from collections.abc import Sequence
from typing import NamedTuple

from service.reports import RawConnection, RawReport, ReportError, header_key, read_stamp

_NAME = ("name (original name)", "name", "participant", "participant name", "display name", "user name")
_EMAIL = ("user email", "email", "email address", "e-mail", "participant email", "attendee email")
_JOIN = ("join time", "joined", "join")
_LEAVE = ("leave time", "left", "leave")
_TOTAL = ("total duration (minutes)", "total duration (mins)", "total duration")
_WAITING = ("in waiting room", "waiting room")


def _find(keys: Sequence[str], names: Sequence[str]) -> int | None:
    return next((keys.index(name) for name in names if name in keys), None)


class _Columns(NamedTuple):
    name: int
    email: int | None
    join: int | None
    leave: int | None
    total: int | None
    waiting: int | None
    carries_original: bool

    @property
    def unique_users(self) -> bool:
        return self.join is None or self.leave is None


def _participant_header(row: Sequence[str]) -> _Columns | None:
    """The column positions when this row is the participants' header, else None."""
    keys = [header_key(cell) for cell in row]
    name = _find(keys, _NAME)
    if name is None:
        return None
    columns = _Columns(
        name=name,
        email=_find(keys, _EMAIL),
        join=_find(keys, _JOIN),
        leave=_find(keys, _LEAVE),
        total=_find(keys, _TOTAL),
        waiting=_find(keys, _WAITING),
        carries_original=keys[name] == "name (original name)",
    )
    return columns if not columns.unique_users or columns.total is not None else None


def recognizes(rows: Sequence[Sequence[str]]) -> bool:
    return any(_participant_header(row) for row in rows[:40])


def _cell(row: Sequence[str], column: int | None) -> str:
    return row[column].strip() if column is not None and column < len(row) else ""


def _overview_start(rows: Sequence[Sequence[str]]) -> str:
    """The meeting's start time from the overview block, "" when the export has none."""
    for number, row in enumerate(rows):
        keys = [header_key(cell) for cell in row]
        if "meeting id" in keys and "start time" in keys and number + 1 < len(rows):
            return _cell(rows[number + 1], keys.index("start time"))
    return ""


def read_zoom(rows: Sequence[Sequence[str]]) -> RawReport:
    """The connections of a Zoom participant report (rows already split into cells)."""
    for number, row in enumerate(rows):
        if columns := _participant_header(row):
            body = rows[number + 1 :]
            overview = rows[:number]
            break
    else:
        raise ReportError("This Zoom export has no participants' header row.")
    connections = []
    for line, row in enumerate(body, start=number + 2):
        name, email = _cell(row, columns.name), _cell(row, columns.email)
        if not name and not email:
            continue
        if columns.unique_users:
            total = _cell(row, columns.total).replace(",", ".")
            try:
                minutes = float(total) if total else 0.0
            except ValueError:
                raise ReportError(f"Row {line}: {total!r} is not a number of minutes.") from None
            connections.append(
                RawConnection(name=name, email=email, total_minutes=max(minutes, 0.0), line=line)
            )
            continue
        try:
            joined, left = read_stamp(_cell(row, columns.join)), read_stamp(_cell(row, columns.leave))
        except ReportError as exc:
            raise exc.at_row(line) from None
        connections.append(
            RawConnection(
                name=name,
                email=email,
                joined=joined,
                left=left,
                in_waiting_room=_cell(row, columns.waiting).casefold() in ("yes", "true", "1"),
                line=line,
            )
        )
    start = _overview_start(overview)
    return RawReport(
        kind="zoom_unique_users" if columns.unique_users else "zoom",
        connections=tuple(connections),
        meeting_start=read_stamp(start) if start else None,
        names_carry_original=columns.carries_original,
    )
