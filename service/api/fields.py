"""Constrained field types shared by the request bodies: hostile input stops at the boundary."""

import datetime as dt
from typing import Annotated

from litestar.params import QueryParameter
from msgspec import Meta

from service.lists import EARLIEST_DATE, LATEST_DATE
from service.lists import date_out_of_range as date_out_of_range  # the rule beyond the type, for requests
from service.rules.attendee_lists import EMAIL_MAX_LENGTH, EMAIL_MIN_LENGTH, EMAIL_PATTERN

# Printable text with something in it: no control characters (NUL included), not only spaces.
_TEXT = r"^[^\u0000-\u001f\u007f]*[^\s\u0000-\u001f\u007f][^\u0000-\u001f\u007f]*$"

Text = Annotated[str, Meta(min_length=1, max_length=200, pattern=_TEXT)]
# Litestar's OpenAPI generator does not see constraints on list items; this says them in the document.
TEXT_ITEMS_SCHEMA = {
    "extra": {"items": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": _TEXT}}
}
LongText = Annotated[str, Meta(min_length=1, max_length=2000, pattern=_TEXT)]
Email = Annotated[
    str,
    Meta(
        min_length=EMAIL_MIN_LENGTH,
        max_length=EMAIL_MAX_LENGTH,
        pattern=EMAIL_PATTERN,
        description="An email address; compared case-insensitively after trimming.",
    ),
]
# The same as a query parameter, so that the OpenAPI document states the constraints too.
EmailQuery = Annotated[
    Email | None,
    QueryParameter(
        min_length=EMAIL_MIN_LENGTH,
        max_length=EMAIL_MAX_LENGTH,
        pattern=EMAIL_PATTERN,
        description="An email address; compared case-insensitively after trimming.",
    ),
]
LocalTime = Annotated[
    str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Local wall-clock time, HH:MM.")
]
Date = Annotated[
    dt.date,
    Meta(description=f"An ISO date, YYYY-MM-DD, from {EARLIEST_DATE} to {LATEST_DATE}."),
]
