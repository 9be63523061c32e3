"""Constrained field types shared by the request bodies: hostile input stops at the boundary."""

import datetime as dt
from typing import Annotated

from litestar.params import QueryParameter
from msgspec import Meta

# Printable text with something in it: no control characters (NUL included), not only spaces.
_TEXT = r"^[^\u0000-\u001f\u007f]*[^\s\u0000-\u001f\u007f][^\u0000-\u001f\u007f]*$"

# A dot-atom local part (no leading, trailing or double dots; none of <>()[]\,;:" that pasting from a
# mail client leaves behind) and a domain of labels that neither start nor end with a hyphen.
_LOCAL_CHAR = r"[^\s@<>()\[\]\\,;:\".\u0000-\u001f\u007f]"
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
_EMAIL = rf"^\s*{_LOCAL_CHAR}+(?:\.{_LOCAL_CHAR}+)*@{_LABEL}(?:\.{_LABEL})*\.[^\W\d_]{{2,}}\s*$"

Text = Annotated[str, Meta(min_length=1, max_length=200, pattern=_TEXT)]
# Litestar's OpenAPI generator does not see constraints on list items; this says them in the document.
TEXT_ITEMS_SCHEMA = {
    "extra": {"items": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": _TEXT}}
}
LongText = Annotated[str, Meta(min_length=1, max_length=2000, pattern=_TEXT)]
Email = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=254,
        pattern=_EMAIL,
        description="An email address; compared case-insensitively after trimming.",
    ),
]
# The same as a query parameter, so that the OpenAPI document states the constraints too.
EmailQuery = Annotated[
    Email | None,
    QueryParameter(
        min_length=3,
        max_length=254,
        pattern=_EMAIL,
        description="An email address; compared case-insensitively after trimming.",
    ),
]
LocalTime = Annotated[
    str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Local wall-clock time, HH:MM.")
]
# Session and request dates stay well inside what date arithmetic can reach: the desk looks a day either
# side of a date, and 0001-01-01 or 9999-12-31 would overflow (a 500, after the session was stored).
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)
Date = Annotated[
    dt.date,
    Meta(description=f"An ISO date, YYYY-MM-DD, from {EARLIEST_DATE} to {LATEST_DATE}."),
]


def date_out_of_range(date: dt.date) -> str | None:
    """Why a session or request date is refused, or None when it is in range."""
    if EARLIEST_DATE <= date <= LATEST_DATE:
        return None
    return f"must be a date from {EARLIEST_DATE} to {LATEST_DATE}"
