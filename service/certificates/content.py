"""What a certificate says: the one description shared by the PDF, the ledger and verification."""

import datetime as dt

import msgspec


class CertificateContent(msgspec.Struct, frozen=True, kw_only=True):
    """Every fact printed on a certificate; rendering is a pure function of this value."""

    serial: str
    holder_name: str
    issuer: str
    title: str
    session_date: dt.date
    start_time: str | None
    timezone: str
    duration_minutes: int
    facilitators: tuple[str, ...]
    delivery: str
    issued_on: dt.date
    verify_url: str

    @property
    def contact_hours(self) -> float:
        return contact_hours(self.duration_minutes)


def contact_hours(duration_minutes: int) -> float:
    """Clock hours as certification boards count them (90 minutes -> 1.5)."""
    return round(duration_minutes / 60, 2)
