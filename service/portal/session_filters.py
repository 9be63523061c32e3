"""The period and organization a listing or an export is about, read from a query string in words.

Both dates are inclusive session dates (`YYYY-MM-DD`, as a date input sends them); the organization is
compared without case. A wrong value is reported beside its field and that filter is not applied.
"""

import datetime as dt
from collections.abc import Mapping

import msgspec

from service.rules.wording import clean_text

DATE_MESSAGE = "Enter a date like 2026-03-04."


class Filters(msgspec.Struct, kw_only=True):
    first: dt.date | None = None
    last: dt.date | None = None
    organization: str | None = None
    values: dict[str, str] = msgspec.field(default_factory=dict)  # as typed, to show them again
    errors: dict[str, str] = msgspec.field(default_factory=dict)

    @property
    def given(self) -> bool:
        """Any filter was typed (even a wrong one)."""
        return any(self.values.values())


def parse_date(value: str) -> dt.date | None:
    """A date written YYYY-MM-DD (as a date input sends it, and as `certledger export` takes it), else None."""
    try:
        return dt.date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def read_filters(query: Mapping[str, str]) -> Filters:
    values = {name: str(query.get(name) or "").strip()[:200] for name in ("from", "to", "organization")}
    filters = Filters(values=values)
    for name in ("from", "to"):
        if not values[name]:
            continue
        day = parse_date(values[name])
        if day is None:
            filters.errors[name] = DATE_MESSAGE
        elif name == "from":
            filters.first = day
        else:
            filters.last = day
    if filters.first and filters.last and filters.first > filters.last:
        filters.errors["to"] = "The end of the period must not be before its start."
        filters.last = None
    if values["organization"]:
        filters.organization = clean_text(values["organization"])
    return filters
