"""From HTML forms to the API's own structs, with every error in words beside its field.

The portal does not restate the API's field rules: a form becomes the same `SessionIn` or `AttendeeIn` the
JSON API decodes, through msgspec. msgspec stops at the first error, so `convert_all` records it, puts a
known-good value in that field's place and tries again: the page then shows every wrong field at once.
The words are the portal's (a person reads them); the rules are the API's.
"""

import re
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec
from litestar.datastructures import FormMultiDict

from service.api.sessions import AttendeeIn, SessionIn

T = TypeVar("T")
Errors = dict[str, str]
_AT_FIELD = re.compile(r" - at `\$\.([a-z_]+)")
_MISSING = re.compile(r"^Object missing required field `([a-z_]+)`")

# A value each field accepts: stands in for a wrong one while the rest of the form is checked. In the
# order of the form's fields, which is the order of its errors.
_SESSION_FALLBACK: dict[str, Any] = {
    "date": "2026-01-01",
    "start_time": "12:00",
    "duration_minutes": 90,
    "timezone": "UTC",
    "facilitators": ["x"],
    "level": "hub",
    "title": "x",
    "delivery": "online",
    "organization": "x",
}
SESSION_MESSAGES = {
    "date": "Enter the date of the session as a real calendar date, like 2026-03-04.",
    "start_time": "Enter the start time as hours and minutes, like 18:00.",
    "timezone": "Enter a time zone such as America/New_York.",
    "duration_minutes": "Enter the length in whole minutes, from 30 to 240.",
    "facilitators": "Enter each facilitator's name on its own line (at least one, at most 20, "
    "each at most 200 characters).",
    "level": "Choose the level of the session.",
    "organization": "Enter the organization as plain text of at most 200 characters, or leave it empty.",
    "title": "Enter the title as plain text of at most 200 characters, or leave it empty.",
    "delivery": "Choose online or in person.",
}
SESSION_MISSING = {
    "date": "Enter the date of the session.",
    "start_time": "Enter the start time, like 18:00: lateness is judged from it.",
    "duration_minutes": "Enter the length of the session in minutes (90 is usual).",
    "facilitators": "Enter at least one facilitator's name.",
    "level": "Choose the level of the session.",
}
_ROW_FALLBACK: dict[str, Any] = {"name": "x", "email": "x@example.org", "pronouns": None}
ROW_MESSAGES = {
    "name": "Enter the attendee's name (printable text, at most 200 characters).",
    "email": "Enter an email address like name@example.org.",
    "pronouns": "Pronouns can be at most 60 characters.",
}
ROW_MISSING = {
    "name": "Enter the attendee's name.",
    "email": "Enter the attendee's email address.",
}


def convert_all(
    data: dict[str, Any], kind: type[T], fallback: Mapping[str, Any]
) -> tuple[T | None, dict[str, bool]]:
    """The struct, or None and every field msgspec refused, in the order found (True: it was missing)."""
    data = dict(data)
    wrong: dict[str, bool] = {}
    for _ in range(len(fallback) + 1):
        try:
            converted = msgspec.convert(data, kind, strict=False)
        except msgspec.ValidationError as exc:
            message = str(exc)
            missing = _MISSING.match(message)
            found = missing or _AT_FIELD.search(message)
            field = found.group(1) if found else None
            if field is None or field in wrong or field not in fallback:
                # The portal's forms are flat, so every error names one field; anything else is a bug.
                raise
            wrong[field] = missing is not None
            data[field] = fallback[field]
        else:
            return (converted, {}) if not wrong else (None, wrong)
    raise AssertionError("every field was replaced by a value it accepts")


def _words(wrong: dict[str, bool], missing: Mapping[str, str], invalid: Mapping[str, str]) -> Errors:
    return {
        field: (missing if was_missing else invalid).get(field, invalid[field])
        for field, was_missing in wrong.items()
    }


def text(form: FormMultiDict, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def session_in(form: FormMultiDict, default_timezone: str) -> tuple[SessionIn | None, Errors]:
    """The register form as the API's SessionIn; empty optional fields take the API's defaults.

    The start time is required here though the API takes a session without one: a facilitator registering
    in the portal knows it, and without it an attendance report can only guess when the session began."""
    data: dict[str, Any] = {
        "date": text(form, "date"),
        "duration_minutes": text(form, "duration_minutes"),
        "facilitators": [line.strip() for line in text(form, "facilitators").splitlines() if line.strip()],
        "level": text(form, "level"),
        "delivery": text(form, "delivery") or "online",
        "timezone": text(form, "timezone") or default_timezone,
    }
    for optional in ("start_time", "organization", "title"):
        if value := text(form, optional):
            data[optional] = value
    for required in ("date", "duration_minutes", "level", "facilitators"):
        if not data[required]:
            del data[required]
    converted, wrong = convert_all(data, SessionIn, _SESSION_FALLBACK)
    if "start_time" not in data:
        wrong["start_time"], converted = True, None
    in_form_order = {field: wrong[field] for field in _SESSION_FALLBACK if field in wrong}
    return converted, _words(in_form_order, SESSION_MISSING, SESSION_MESSAGES)


def attendee_in(
    *, name: str, email: str, core_trained: bool, full_participation: bool, pronouns: str = ""
) -> tuple[AttendeeIn | None, Errors]:
    """One row of the review table as the API's AttendeeIn."""
    data: dict[str, Any] = {"core_trained": core_trained, "full_participation": full_participation}
    for field, value in (("name", name), ("email", email), ("pronouns", pronouns)):
        if value:
            data[field] = value
    converted, wrong = convert_all(data, AttendeeIn, _ROW_FALLBACK)
    return converted, _words(wrong, ROW_MISSING, ROW_MESSAGES)
