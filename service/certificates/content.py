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


def sample_certificate(
    *,
    issuer: str = "IPS Central",
    timezone: str = "America/New_York",
    verify_url: str = "https://certs.example.org/v/eyJzIjoiQ0wtV0FSTS1VUDAwLTAwMDAifQ.aBcDeF.Zx9-kQ_sT2abc",
) -> CertificateContent:
    """A typical certificate (a name with diacritics, a link of the usual length): what the render
    process draws once at start, and what scripts/bench.py times."""
    return CertificateContent(
        serial="CL-WARM-UP00-0000",
        holder_name="Nguyễn Thị Minh",
        issuer=issuer,
        title="IPS Co-reflection",
        session_date=dt.date(2026, 3, 4),
        start_time="18:00",
        timezone=timezone,
        duration_minutes=90,
        facilitators=("Jane Doe",),
        delivery="online",
        issued_on=dt.date(2026, 3, 4),
        verify_url=verify_url,
    )
