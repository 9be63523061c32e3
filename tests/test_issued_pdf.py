"""The PDF an attendee receives, read back as a certification board would: text, fonts, QR code."""

import httpx

from service.rules.wording import day_month_year
from service.settings import load_settings
from tests.pdf_tools import decode_qr, pdf_fonts, pdf_text
from tests.support import RECENT, LiveServer, Service, attendee

NAMES = ["Nguyễn Thị Minh", "Αλέξανδρος Παπαδόπουλος", "Анна Кузнецова", "Zoë O'Brien-Łukasiewicz"]


def test_issued_certificates_carry_every_field_and_a_working_qr(live_server: LiveServer, env):
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        service = Service(http, load_settings(env))
        session = service.session(facilitators=["Jane Doe", "Sam Lee"])
        emails = [f"holder{i}@example.org" for i in range(len(NAMES))]
        service.attendees(session["id"], [attendee(n, e) for n, e in zip(NAMES, emails, strict=True)])
        for name, email in zip(NAMES, emails, strict=True):
            certificate = service.ask(email=email, facilitator=None)["certificate"]
            pdf = service.intake.get(certificate["pdf_url"]).content

            text = " ".join(pdf_text(pdf).split())
            for expected in (
                "IPS Central",
                "Certificate of Attendance",
                name,
                "IPS Co-reflection",
                day_month_year(RECENT),
                "18:00",
                "90 minutes",
                "1.5 contact hours",
                "Jane Doe and Sam Lee",
                certificate["serial"],
            ):
                assert expected in text, (expected, text)
            assert certificate["verify_url"] in pdf_text(pdf).replace("\n", "")
            fonts = pdf_fonts(pdf)
            assert fonts and all(f["emb"] for f in fonts)
            assert decode_qr(pdf) == [certificate["verify_url"]]
            assert service.intake.get(certificate["pdf_url"]).content == pdf
