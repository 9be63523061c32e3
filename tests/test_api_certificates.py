"""Stored PDFs, staff lookup and revocation through the API."""

import hashlib
import sqlite3

from tests.support import Service, attendee


def test_pdf_is_served_from_the_stored_bytes(service: Service):
    session = service.session()
    service.attendees(session["id"], [attendee("Nguyễn Thị Minh", "minh@example.org")])
    certificate = service.ask(email="minh@example.org")["certificate"]
    first = service.intake.get(certificate["pdf_url"])
    second = service.admin.get(certificate["pdf_url"])
    assert first.content == second.content
    assert (
        first.headers["content-disposition"]
        == f'attachment; filename="certificate-{certificate["serial"]}.pdf"'
    )
    with sqlite3.connect(service.settings.db_path) as db:
        stored, digest = db.execute(
            "SELECT p.pdf, c.pdf_sha256 FROM certificate_pdfs p JOIN certificates c USING (serial) WHERE serial = ?",
            (certificate["serial"],),
        ).fetchone()
    assert stored == first.content
    assert hashlib.sha256(stored).hexdigest() == digest
    assert service.facilitator().get(certificate["pdf_url"]).status_code == 403
    missing = service.intake.get("/api/v1/certificates/CL-0000-0000-0000/pdf")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_staff_find_a_person_and_a_session(service: Service):
    session = service.session()
    service.attendees(
        session["id"], [attendee("Minh", "minh@example.org"), attendee("Kai", "kai@example.org")]
    )
    minh = service.ask(email="minh@example.org")["certificate"]
    service.ask(email="kai@example.org")
    refused = service.ask(email="minh@example.org", date="2020-01-01")

    person = service.admin.get("/api/v1/certificates", params={"email": "MINH@example.org"}).json()
    assert [c["serial"] for c in person["certificates"]] == [minh["serial"]]
    assert person["certificates"][0]["status"] == "valid"
    assert person["certificates"][0]["needs_review"] is False
    assert {r["outcome"] for r in person["requests"]} == {"issued", "rejected"}
    assert refused["request_id"] in {r["request_id"] for r in person["requests"]}

    by_session = service.admin.get("/api/v1/certificates", params={"session_id": session["id"]}).json()
    assert len(by_session["certificates"]) == 2 and len(by_session["requests"]) == 2

    assert service.admin.get("/api/v1/certificates").status_code == 400
    assert service.intake.get("/api/v1/certificates", params={"email": "minh@example.org"}).status_code == 403


def test_a_later_list_flags_a_certificate_for_review_without_revoking_it(service: Service):
    session = service.session()
    service.attendees(
        session["id"], [attendee("Minh", "minh@example.org"), attendee("Kai", "kai@example.org")]
    )
    minh = service.ask(email="minh@example.org")["certificate"]
    kai = service.ask(email="kai@example.org")["certificate"]
    service.attendees(
        session["id"], [attendee("Kai", "kai@example.org"), attendee("Minh", "minh@example.org", full=False)]
    )

    listed = service.admin.get("/api/v1/certificates", params={"session_id": session["id"]}).json()[
        "certificates"
    ]
    flags = {c["serial"]: c["needs_review"] for c in listed}
    assert flags == {minh["serial"]: True, kai["serial"]: False}
    assert service.verify(minh["verify_url"]).json()["status"] == "valid"


def test_revocation(service: Service):
    session = service.session()
    service.attendees(session["id"], [attendee("Minh", "minh@example.org")])
    certificate = service.ask(email="minh@example.org")["certificate"]
    url = f"/api/v1/certificates/{certificate['serial']}/revoke"

    assert service.intake.post(url, json={"reason": "x"}).status_code == 403
    assert service.admin.post(url, json={}).status_code == 422
    assert service.admin.post(url, json={"reason": "   "}).status_code == 422
    revoked = service.admin.post(url, json={"reason": "Did not attend"})
    assert revoked.status_code == 200
    body = revoked.json()
    assert (
        body["status"] == "revoked" and body["revocation_reason"] == "Did not attend" and body["revoked_at"]
    )
    again = service.admin.post(url, json={"reason": "Another reason"})
    assert again.status_code == 200 and again.json()["revocation_reason"] == "Did not attend"
    assert service.admin.post("/api/v1/certificates/CL-NOPE/revoke", json={"reason": "x"}).status_code == 404
    assert service.intake.get(certificate["pdf_url"]).status_code == 200
