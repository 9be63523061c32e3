"""Constrained field types shared by the request bodies: hostile input stops at the boundary."""

import datetime as dt
from typing import Annotated

from msgspec import Meta

# Printable text with something in it: no control characters (NUL included), not only spaces.
_TEXT = r"^[^\u0000-\u001f\u007f]*[^\s\u0000-\u001f\u007f][^\u0000-\u001f\u007f]*$"

Text = Annotated[str, Meta(min_length=1, max_length=200, pattern=_TEXT)]
LongText = Annotated[str, Meta(min_length=1, max_length=2000, pattern=_TEXT)]
Email = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=254,
        pattern=r"^\s*[^@\s\u0000-\u001f\u007f]+@[^@\s\u0000-\u001f\u007f]+\.[^@\s\u0000-\u001f\u007f]+\s*$",
        description="An email address; compared case-insensitively after trimming.",
    ),
]
LocalTime = Annotated[
    str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Local wall-clock time, HH:MM.")
]
Date = Annotated[dt.date, Meta(description="An ISO date, YYYY-MM-DD.")]
