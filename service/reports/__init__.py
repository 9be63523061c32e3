"""Attendance reports as Zoom and Microsoft Teams export them, read into one plain shape (SPEC §6).

`parse.read_report(data, session_date)` decodes the file, recognises which export it is and hands it to
`zoom` or `teams`; the proposed attendee list is built from the result in `proposal`. This module holds
what those share: the shape of a report, its error, and how a cell and a moment are written.

Reading is pure (bytes in, a Report out); the day/month order of dates such as 3/4/26 is not in the file,
so the reader takes the session's date and picks the order that puts the meeting on it.
"""

import datetime as dt
import re
import unicodedata
from typing import Literal, NamedTuple

import msgspec

ReportKind = Literal["zoom", "zoom_unique_users", "teams"]

MAX_REPORT_BYTES = 5 * 1024 * 1024  # the largest export read, by the API and the portal alike
WHERE_TO_DOWNLOAD = (
    "Download the report as your meeting tool exports it: in Zoom, Reports → Usage → Participants → "
    "Export; in Teams, the meeting's chat → Attendance → Download."
)
EXPECTED = (
    "Expected a Zoom participant report (columns Name (Original Name), User Email, Join Time, Leave Time; "
    "with or without the meeting overview, or the 'unique users' export with Total Duration (Minutes)) "
    "or a Microsoft Teams attendance report (sections 1. Summary, 2. Participants, 3. In-Meeting "
    "Activities), exactly as exported: CSV, UTF-8 or UTF-16, comma- or tab-separated."
)


class ReportError(ValueError):
    """The file cannot be read as an attendance report; the message says why, in words for a person.

    `plain` is that one sentence; `expected` adds what an export must look like (EXPECTED), which the
    API's answer carries in full and the portal folds away under the sentence."""

    def __init__(self, plain: str, *, expected: bool = False) -> None:
        super().__init__(f"{plain} {EXPECTED}" if expected else plain)
        self.plain = plain
        self.expected = expected

    def at_row(self, line: int) -> "ReportError":
        """The same refusal, naming the row of the file it is about."""
        return ReportError(f"Row {line}: {self.plain}", expected=self.expected)


class Stamp(NamedTuple):
    """A moment as a report writes it, before the day/month order of its date is known.

    `first` and `second` are the two date numbers in written order: month and day in m/d/y, day and month
    in d/m/y. `fixed` stamps say their order themselves (ISO dates, month names): `first` is the month.
    """

    year: int
    first: int
    second: int
    clock: dt.time
    fixed: bool = False

    def reading(self, day_first: bool) -> dt.datetime | None:
        """The wall-clock moment under one order, or None when that order makes no date (13/25)."""
        month, day = (self.second, self.first) if day_first and not self.fixed else (self.first, self.second)
        try:
            return dt.datetime.combine(dt.date(self.year, month, day), self.clock)
        except ValueError:
            return None


class RawConnection(msgspec.Struct, frozen=True, kw_only=True):
    """One row of a report as written: a connection (join and leave) or, in a 'unique users' export,
    one person's total."""

    name: str
    email: str = ""
    upn: str = ""  # Teams "Participant ID (UPN)"
    role: str = ""  # Teams "Organizer", "Presenter", "Attendee"
    joined: Stamp | None = None
    left: Stamp | None = None
    total_minutes: float | None = None
    in_waiting_room: bool = False
    line: int = 0  # the row of the file (1 is the first), for messages that name it


class RawReport(msgspec.Struct, frozen=True, kw_only=True):
    kind: ReportKind
    connections: tuple[RawConnection, ...]
    meeting_start: Stamp | None = None
    # Zoom's "Name (Original Name)" column: a trailing "(…)" is the name before a rename.
    names_carry_original: bool = False
    # False when only first join and last leave are known (a Teams report without its activities).
    gaps_known: bool = True


class Connection(msgspec.Struct, frozen=True, kw_only=True):
    """A row with its moments read: naive wall-clock times, as the report writes them."""

    name: str
    email: str
    upn: str
    role: str
    joined: dt.datetime | None
    left: dt.datetime | None
    total_minutes: float | None
    in_waiting_room: bool
    line: int


class Report(msgspec.Struct, frozen=True, kw_only=True):
    kind: ReportKind
    connections: tuple[Connection, ...]
    meeting_start: dt.datetime | None
    names_carry_original: bool
    gaps_known: bool


def header_key(cell: str) -> str:
    """A column or section title compared the way exports vary it: case, spacing, a stray BOM or quote."""
    return " ".join(cell.replace("\ufeff", "").strip().strip('"').casefold().split())


def cell_text(cell: str) -> str:
    """A cell's text in one spelling: NFC, no control characters, single spaces."""
    if cell.isascii() and cell.isprintable() and "  " not in cell and cell == cell.strip():
        return cell  # the common case, at a fraction of the cost
    text = "".join(
        c if unicodedata.category(c) != "Cc" else " " if c.isspace() else ""
        for c in unicodedata.normalize("NFC", cell)
    )
    return " ".join(text.replace("\ufeff", "").split())


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_CLOCK = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,]\d+)?)?\s*(?P<ampm>[ap]\.?\s?m\.?)?"
_NUMERIC = re.compile(
    rf"^(?P<a>\d{{1,4}})[/.-](?P<b>\d{{1,2}})[/.-](?P<c>\d{{2,4}})\.?,?\s*T?\s*{_CLOCK}$", re.I
)
_NAMED = re.compile(
    rf"^(?:(?P<m1>[a-z]{{3,9}})\.?\s+(?P<d1>\d{{1,2}})|(?P<d2>\d{{1,2}})\.?\s+(?P<m2>[a-z]{{3,9}})\.?),?"
    rf"\s+(?P<y>\d{{4}}),?\s+{_CLOCK}$",
    re.I,
)


def read_stamp(text: str) -> Stamp | None:
    """A moment as Zoom or Teams writes it: "03/04/2026 06:00:00 PM", "3/4/26, 6:00:02 PM",
    "15/11/22, 09:30:17", "2026-03-04 18:00:02", "Mar 4, 2026 06:00 PM". None for an empty cell;
    ReportError for text that is no moment."""
    # Newer Windows and ICU formats put a narrow no-break space before AM/PM.
    text = " ".join(text.replace("\u202f", " ").replace("\u00a0", " ").split())
    if not text or text in ("-", "--"):
        return None
    if match := _NUMERIC.match(text):
        a, b, c = int(match["a"]), int(match["b"]), int(match["c"])
        clock = _clock(match, text)
        if len(match["a"]) == 4:
            return Stamp(a, b, c, clock, fixed=True)
        if len(match["a"]) > 2 or len(match["c"]) == 3:
            raise ReportError(f"{text!r} is not a date and time this reader knows.")
        return Stamp(c + 2000 if len(match["c"]) == 2 else c, a, b, clock)  # 0001 is year 1, 26 is 2026
    if (match := _NAMED.match(text)) and (month := _MONTHS.get((match["m1"] or match["m2"]).lower())):
        return Stamp(int(match["y"]), month, int(match["d1"] or match["d2"]), _clock(match, text), fixed=True)
    raise ReportError(f"{text!r} is not a date and time this reader knows.")


def _clock(match: re.Match[str], text: str) -> dt.time:
    hour, minute, second = int(match["h"]), int(match["mi"]), int(match["s"] or 0)
    if ampm := match["ampm"]:
        if not 1 <= hour <= 12:
            raise ReportError(f"{text!r} is not a time of day.")
        hour = hour % 12 + (12 if ampm[0] in "pP" else 0)
    try:
        return dt.time(hour, minute, second)
    except ValueError:
        raise ReportError(f"{text!r} is not a time of day.") from None
