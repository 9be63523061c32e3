"""Microsoft Teams' attendance report (meeting → Attendance → Download).

The export is UTF-16 and tab-separated when it comes from Teams, UTF-8 and comma-separated once a
spreadsheet saved it again; both are read. Three sections: "1. Summary" (key / value rows: the meeting's
start time among them), "2. Participants" (one row per person: First Join, Last Leave, Email,
Participant ID (UPN), Role) and "3. In-Meeting Activities" (one row per join and leave, which is what
shows a reconnect). Dates follow the organizer's locale (3/4/26 or 15/11/22), so the caller decides the
day/month order; names may contain commas ("Okafor, Chidi"), quoted in the file.

A person's email is the Email column; the UPN (their sign-in name, which can differ: lmei@contoso vs
lin.mei@example.org) stands in only when Email is empty, and a guest UPN of the form
`lin.mei_example.org#EXT#@contoso.onmicrosoft.com` is turned back into the address it encodes.
"""

import re
from collections.abc import Sequence
from typing import Literal, NamedTuple

from service.reports import RawConnection, RawReport, ReportError, Stamp, header_key, read_stamp

_SECTION = re.compile(r"^\d+\.\s*(summary|participants|in-meeting activities|meeting summary)$")
_START_KEYS = ("start time", "meeting start time")
_GUEST_UPN = re.compile(r"^(?P<local>.+)_(?P<domain>[^_@#]+\.[^_@#]+)#ext#@", re.IGNORECASE)


class _Columns(NamedTuple):
    table: Literal["participants", "activities"]
    name: int
    join: int
    leave: int
    email: int | None
    upn: int | None
    role: int | None


def _find(keys: Sequence[str], *names: str) -> int | None:
    return next((keys.index(name) for name in names if name in keys), None)


def _table_header(row: Sequence[str]) -> _Columns | None:
    keys = [header_key(cell) for cell in row]
    name = _find(keys, "name", "full name", "participant name")
    if name is None:
        return None
    first, last = _find(keys, "first join", "first join time"), _find(keys, "last leave", "last leave time")
    join, leave = _find(keys, "join time"), _find(keys, "leave time")
    extra = {
        "email": _find(keys, "email", "email address"),
        "upn": _find(keys, "participant id (upn)", "upn", "user principal name"),
        "role": _find(keys, "role"),
    }
    if first is not None and last is not None:
        return _Columns("participants", name, first, last, **extra)
    if join is not None and leave is not None:
        return _Columns("activities", name, join, leave, **extra)
    return None


def _is_section(row: Sequence[str]) -> bool:
    return bool(row) and bool(_SECTION.match(header_key(row[0]))) and not any(c.strip() for c in row[1:])


def recognizes(rows: Sequence[Sequence[str]]) -> bool:
    """Teams' section titles, its participants table, or a join/leave table with a Role or UPN column
    (Zoom's has neither)."""
    for row in rows[:60]:
        if _is_section(row):
            return True
        columns = _table_header(row)
        if columns and (
            columns.table == "participants" or columns.role is not None or columns.upn is not None
        ):
            return True
    return False


def _cell(row: Sequence[str], column: int | None) -> str:
    return row[column].strip() if column is not None and column < len(row) else ""


def email_from_upn(upn: str) -> str:
    """The address a sign-in name stands for: a guest's `a.b_example.org#EXT#@tenant…` is a.b@example.org."""
    if match := _GUEST_UPN.match(upn):
        return f"{match['local']}@{match['domain']}"
    return upn


class _Row(NamedTuple):
    name: str
    email: str
    upn: str
    role: str
    joined: Stamp | None
    left: Stamp | None
    line: int


def read_teams(rows: Sequence[Sequence[str]]) -> RawReport:
    """The connections of a Teams attendance report (rows already split into cells)."""
    tables: dict[str, list[_Row]] = {"participants": [], "activities": []}
    start = ""
    columns: _Columns | None = None
    for line, row in enumerate(rows, start=1):
        if not any(cell.strip() for cell in row) or _is_section(row):
            columns = None
            continue
        if header := _table_header(row):
            columns = header
            continue
        if columns is None:
            # A summary line: "Start time<TAB>3/4/26, 6:00:02 PM".
            if header_key(row[0]) in _START_KEYS and not start:
                start = _cell(row, 1)
            continue
        name = _cell(row, columns.name)
        email, upn = _cell(row, columns.email), _cell(row, columns.upn)
        if not name and not email and not upn:
            continue
        try:
            joined, left = read_stamp(_cell(row, columns.join)), read_stamp(_cell(row, columns.leave))
        except ReportError as exc:
            raise exc.at_row(line) from None
        tables[columns.table].append(_Row(name, email, upn, _cell(row, columns.role), joined, left, line))

    participants, activities = tables["participants"], tables["activities"]
    if not participants and not activities:
        raise ReportError("This Teams report has no participants.")
    # The participants table knows each person's UPN (and email) once; the activities know when.
    by_name_email = {(p.name, p.email): n for n, p in enumerate(participants)}
    by_name = {p.name: n for n, p in enumerate(participants)}
    covered = set()
    connections = []
    for activity in activities:
        number = by_name_email.get((activity.name, activity.email), by_name.get(activity.name))
        if number is not None:
            covered.add(number)
            person = participants[number]
            activity = activity._replace(email=activity.email or person.email, upn=activity.upn or person.upn)
        connections.append(_connection(activity))
    # Someone in the participants table without activities: their first join and last leave.
    connections += [_connection(p) for n, p in enumerate(participants) if n not in covered]
    return RawReport(
        kind="teams",
        connections=tuple(connections),
        meeting_start=read_stamp(start) if start else None,
        gaps_known=bool(activities),
    )


def _connection(row: _Row) -> RawConnection:
    return RawConnection(
        name=row.name,
        email=row.email or email_from_upn(row.upn),
        upn=row.upn,
        role=row.role,
        joined=row.joined,
        left=row.left,
        line=row.line,
    )
