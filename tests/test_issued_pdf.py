"""The PDF an attendee receives, read back as a certification board would: text, fonts, QR code."""

import httpx

from service.rules.wording import day_month_year
from tests.pdf_tools import decode_qr, pdf_fonts, pdf_text
from tests.support import ADMIN_TOKEN, RECENT, LiveServer, attendee

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NAMES = ["Nguyễn Thị Minh", "Αλέξανδρος Παπαδόπουλος", "Анна Кузнецова", "Zoë O'Brien-Łukasiewicz"]


def test_issued_certificates_carry_every_field_and_a_working_qr(live_server: LiveServer):
    with httpx.Client(base_url=live_server.url, headers=ADMIN, timeout=30) as client:
        session = client.post(
            "/api/v1/sessions",
            json={
                "date": RECENT.isoformat(),
                "start_time": "18:00",
                "duration_minutes": 90,
                "facilitators": ["Jane Doe", "Sam Lee"],
                "level": "central",
            },
        ).json()
        emails = [f"holder{i}@example.org" for i in range(len(NAMES))]
        client.put(
            f"/api/v1/sessions/{session['id']}/attendees",
            json={"attendees": [attendee(n, e) for n, e in zip(NAMES, emails, strict=True)]},
        )
        for name, email in zip(NAMES, emails, strict=True):
            answer = client.post(
                "/api/v1/certificate-requests", json={"email": email, "date": RECENT.isoformat()}
            )
            certificate = answer.json()["certificate"]
            pdf = client.get(certificate["pdf_url"]).content

            text = " ".join(pdf_text(pdf).split())
            for expected in (
                "IPS Central",
                "Certificate of Attendance",
                name,
                "IPS Co-reflection",
                day_month_year(RECENT),
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
            assert client.get(certificate["pdf_url"]).content == pdf
