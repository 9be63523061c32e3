"""How dates and lists of names are written for people, the same on certificates, pages and messages.

Spelled out by hand: strftime's %A and %B follow the process locale, which would make a certificate's
bytes depend on the host it was rendered on.
"""

import datetime as dt
import unicodedata
from collections.abc import Sequence

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def day_month_year(day: dt.date) -> str:
    """4 March 2026: no reader mistakes the day for the month."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def long_date(day: dt.date) -> str:
    """Wednesday, 4 March 2026."""
    return f"{_WEEKDAYS[day.weekday()]}, {day_month_year(day)}"


def join_names(names: Sequence[str]) -> str:
    """Jane Doe; Jane Doe and Sam Lee; Jane Doe, Sam Lee and Ana Ruiz."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def clean_text(value: str) -> str:
    """One spelling per text: Unicode NFC (a name typed on a Mac and on Windows is the same name) and
    single spaces."""
    return " ".join(unicodedata.normalize("NFC", value).split())
