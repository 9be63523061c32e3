"""From the bytes of an uploaded export to a Report: decode, split into cells, recognise, read dates.

Decoding: a byte-order mark decides (UTF-8, UTF-16 LE or BE); without one, UTF-16 is recognised by its
zero bytes, then UTF-8 is tried, then Windows-1252 (what Excel writes when it saves "CSV" on Windows).
Cells are split on tabs, commas or semicolons, whichever lets a known header be found.

Dates such as 3/4/26 do not say which number is the month. One order holds for the whole file: the one
under which every date in it is a real date and the date farthest from the session's lies nearest it (so
that a meeting crossing midnight, 03/03 23:00 to 04/03 00:05, is read as one night, not as March to
April), then the one with fewer connections that leave before they join; Zoom and Teams write m/d first
in the US, so m/d wins a tie. A report whose meeting is not within a day of the session's date is
refused: it is another meeting's. So is a single moment more than two days from it (a typed 01/01/0001
or 12/31/9999 would otherwise count as present all along, or overflow): the refusal names its row.
"""

import codecs
import csv
import datetime as dt
import io
from collections.abc import Callable, Sequence

from service.reports import (
    Connection,
    RawReport,
    Report,
    ReportError,
    Stamp,
    teams,
    zoom,
)
from service.rules.wording import day_month_year

# How far from the session's date a moment of its report may be: a meeting seen across the date line and
# crossing midnight is within a day or two of it; anything farther is a mistyped or corrupted time.
MAX_DAYS_FROM_SESSION = 2

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_DELIMITERS = ("\t", ",", ";")
_READERS: tuple[tuple[Callable[[Sequence[Sequence[str]]], bool], Callable[..., RawReport]], ...] = (
    # Teams first: its activities table has Join Time and Leave Time as Zoom's has.
    (teams.recognizes, teams.read_teams),
    (zoom.recognizes, zoom.read_zoom),
)


def decode(data: bytes, charset: str | None = None) -> str:
    """The file's text. `charset` (from the upload's Content-Type) is tried after a byte-order mark."""
    if not data.strip():
        raise ReportError("The file is empty.", expected=True)
    if data.startswith(b"PK\x03\x04"):
        raise ReportError(
            "This is a spreadsheet workbook (.xlsx), not CSV: download the report as CSV, or open it and "
            "save it as 'CSV UTF-8'.",
            expected=True,
        )
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decoded(data, encoding)
    candidates = [charset] if charset and _known_codec(charset) else []
    half = data[:4000]
    if half.count(0) * 3 > len(half):
        # UTF-16 without its mark: every other byte of ASCII text is zero.
        zeros_odd = half[1::2].count(0) > half[0::2].count(0)
        candidates.append("utf-16-le" if zeros_odd else "utf-16-be")
    for encoding in (*candidates, "utf-8", "cp1252"):
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if "\x00" not in text:
            return text
    raise ReportError("The file is not text (it looks like a binary file).", expected=True)


def _known_codec(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name not in ("mbcs",)
    except LookupError:
        return False


def _decoded(data: bytes, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise ReportError(f"The file starts like {encoding} text but is not.", expected=True) from None
    if "\x00" in text:
        raise ReportError("The file is not text (it holds zero bytes).", expected=True)
    return text


def _rows(text: str, delimiter: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise ReportError(f"The file cannot be read as CSV ({exc}).", expected=True) from None


def read_raw(text: str) -> RawReport:
    """The report in the text, its dates still as written."""
    for delimiter in _DELIMITERS:
        if delimiter not in text:
            continue
        rows = _rows(text, delimiter)
        for recognizes, read in _READERS:
            if recognizes(rows):
                return read(rows)
    raise ReportError("This file is not an attendance report from Zoom or Microsoft Teams.", expected=True)


def _stamps(raw: RawReport) -> list[Stamp]:
    """Every distinct moment the report writes."""
    found = {s for c in raw.connections for s in (c.joined, c.left) if s is not None}
    return list(found | ({raw.meeting_start} if raw.meeting_start else set()))


Span = tuple[Stamp | None, Stamp | None]


def day_first_order(stamps: Sequence[Stamp], session_date: dt.date, spans: Sequence[Span] = ()) -> bool:
    """Whether the report writes day before month: of the orders under which every date is real, the one
    whose farthest date lies nearest the session's, then the one with fewer `spans` (join, leave) that
    leave before they join, then the one nearer in all; month first on a tie."""
    if all(s.fixed for s in stamps):
        return False
    choices = []
    for day_first in (False, True):
        moments = [s.reading(day_first) for s in stamps]
        if all(moments):
            days = [abs((m.date() - session_date).days) for m in moments if m]
            reversed_spans = sum(
                1
                for joined, left in spans
                if joined
                and left
                and (left.reading(day_first) or dt.datetime.max)
                < (joined.reading(day_first) or dt.datetime.min)
            )
            choices.append((max(days), reversed_spans, sum(days), day_first))
    if not choices:
        raise ReportError("The report's dates are not real dates in either day/month order.")
    return min(choices)[-1]


def read_report(data: bytes, session_date: dt.date, charset: str | None = None) -> Report:
    """The attendance report in an uploaded file, its moments in the report's wall-clock time."""
    text = decode(data, charset)
    if not text.strip():
        raise ReportError("The file is empty.", expected=True)
    raw = read_raw(text)
    if not raw.connections:
        raise ReportError("The report lists no participants.")
    stamps = _stamps(raw)
    spans = [(c.joined, c.left) for c in raw.connections]
    day_first = day_first_order(stamps, session_date, spans) if stamps else False

    def moment(stamp: Stamp | None) -> dt.datetime | None:
        return stamp.reading(day_first) if stamp else None

    report = Report(
        kind=raw.kind,
        connections=tuple(
            Connection(
                name=c.name,
                email=c.email,
                upn=c.upn,
                role=c.role,
                joined=moment(c.joined),
                left=moment(c.left),
                total_minutes=c.total_minutes,
                in_waiting_room=c.in_waiting_room,
                line=c.line,
            )
            for c in raw.connections
        ),
        meeting_start=moment(raw.meeting_start),
        names_carry_original=raw.names_carry_original,
        gaps_known=raw.gaps_known,
    )
    _check_date(stamps, raw.meeting_start, day_first, session_date)
    _check_moments(report, session_date)
    return report


def _check_date(stamps: list[Stamp], start: Stamp | None, day_first: bool, session_date: dt.date) -> None:
    """Refuse another meeting's report, naming its date (both readings when the order was a guess)."""
    moments = [m for s in stamps if (m := s.reading(day_first))]
    if not moments or min(abs((m.date() - session_date).days) for m in moments) <= 1:
        return
    first = start or min(stamps, key=lambda s: s.reading(day_first) or dt.datetime.max)
    readings = sorted({m.date() for m in (first.reading(False), first.reading(True)) if m})
    raise ReportError(
        f"This report is of a meeting on {' or '.join(day_month_year(d) for d in readings)}, but the "
        f"session is on {day_month_year(session_date)}: upload that session's report."
    )


def _written(moment: dt.datetime) -> str:
    return f"{day_month_year(moment.date())}, {moment:%H:%M:%S}"


def _check_moments(report: Report, session_date: dt.date) -> None:
    """Refuse a moment far from the session's date, naming its row: the rest of the report is this
    meeting's, so that one is a mistyped or corrupted time."""

    def far(moment: dt.datetime | None) -> bool:
        return moment is not None and abs((moment.date() - session_date).days) > MAX_DAYS_FROM_SESSION

    if far(report.meeting_start):
        assert report.meeting_start is not None
        raise ReportError(
            f"The meeting's start time, {_written(report.meeting_start)}, is not within "
            f"{MAX_DAYS_FROM_SESSION} days of the session's date, {day_month_year(session_date)}: "
            "correct it in the file or export the report again."
        )
    for connection in report.connections:
        for what, moment in (("join", connection.joined), ("leave", connection.left)):
            if far(moment):
                assert moment is not None
                raise ReportError(
                    f"Row {connection.line}: the {what} time, {_written(moment)}, is not within "
                    f"{MAX_DAYS_FROM_SESSION} days of the session's date, {day_month_year(session_date)}: "
                    "correct that row or export the report again."
                )
