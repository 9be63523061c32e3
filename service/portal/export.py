"""The attendance and certificates export: one CSV for the portal's download and `certledger export`.

One row per attendee per session of the organization in the period (session dates, inclusive): the
attendees of each session's latest list, then anyone holding a certificate for it whom that list no longer
names. Sessions without a list have no rows. Columns, in order:

| column | value |
| --- | --- |
| session_id | the session's id |
| session_date | YYYY-MM-DD, the session's local date |
| start_time | HH:MM local, or empty |
| timezone | IANA zone of the session |
| title | session title |
| organization | contracting organization as registered |
| level | central or hub |
| duration_minutes | registered length |
| facilitators | names joined with "; " |
| attendee_name | as on the list (for a holder no longer listed: as on the certificate) |
| email | as on the list |
| core_trained | yes / no (empty when unknown) |
| full_participation | yes / no (empty when unknown) |
| list_version | the list version the row comes from |
| certificate_serial | the current certificate's serial, or empty |
| certificate_status | valid / revoked, or empty when none was issued |
| issued_at | ISO 8601 with offset, or empty |
| revoked_at | ISO 8601 with offset, or empty |
| verify_url | the verification link printed on the certificate, or empty |

UTF-8 with a byte-order mark, so that spreadsheet programs read accented and non-Latin names right;
RFC 4180 quoting and CRLF line ends. A cell that starts with = + - @ (or a tab or carriage return), also
after leading spaces (spreadsheets skip them), is prefixed with an apostrophe, so that a spreadsheet never
runs a name as a formula (OWASP CSV injection).
"""

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable

from service.ledger.exports import AttendanceRow

COLUMNS = (
    "session_id",
    "session_date",
    "start_time",
    "timezone",
    "title",
    "organization",
    "level",
    "duration_minutes",
    "facilitators",
    "attendee_name",
    "email",
    "core_trained",
    "full_participation",
    "list_version",
    "certificate_serial",
    "certificate_status",
    "issued_at",
    "revoked_at",
    "verify_url",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return f"'{text}" if text.lstrip(" ").startswith(_FORMULA_START) else text


def _row(r: AttendanceRow) -> list[str]:
    values: tuple[object, ...] = (
        r.session_id,
        r.session_date.isoformat(),
        r.start_time,
        r.timezone,
        r.title,
        r.organization,
        r.level,
        r.duration_minutes,
        "; ".join(r.facilitators),
        r.name,
        r.email,
        r.core_trained,
        r.full_participation,
        r.list_version,
        r.serial,
        r.certificate_status,
        r.issued_at,
        r.revoked_at,
        r.verify_url,
    )
    return [_cell(v) for v in values]


def attendance_csv(rows: Iterable[AttendanceRow]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(_row(r) for r in rows)
    return out.getvalue().encode("utf-8-sig")


def export_filename(organization: str, first: dt.date, last: dt.date) -> str:
    """attendance-<organization>-<from>-<to>.csv, with the organization in safe ASCII."""
    slug = re.sub(r"[^a-z0-9]+", "-", organization.lower()).strip("-")[:40] or "organization"
    return f"attendance-{slug}-{first.isoformat()}-{last.isoformat()}.csv"
