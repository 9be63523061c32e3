"""Public verification at /v/{token}: HTML for people, JSON for programs, the same 404 for every forgery."""

import os
import subprocess
import sys

import httpx
from litestar.testing import TestClient

from service.app import create_app
from service.settings import load_settings
from tests.support import Service, attendee


def issue(service: Service, email: str = "minh@example.org", name: str = "Nguyễn Thị Minh") -> dict:
    session = service.session(facilitators=["Jane Doe", "Sam Lee"])
    service.attendees(session["id"], [attendee(name, email)])
    return service.ask(email=email)["certificate"]


def test_valid_certificate_as_json(service: Service):
    certificate = issue(service)
    response = service.verify(certificate["verify_url"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "valid"
    assert body["serial"] == certificate["serial"]
    assert body["holder_name"] == "Nguyễn Thị Minh"
    assert body["issuer"] == "IPS Central"
    assert body["issued_at"][:4].isdigit() and (
        "+00:00" in body["issued_at"] or body["issued_at"].endswith("Z")
    )
    assert body["session"] == {
        "date": certificate["session_date"],
        "title": "IPS Co-reflection",
        "facilitators": ["Jane Doe", "Sam Lee"],
        "duration_minutes": 90,
        "contact_hours": 1.5,
        "delivery": "online",
    }
    assert body["revoked_at"] is None and body["revocation_reason"] is None
    assert "minh@example.org" not in response.text


def test_valid_certificate_as_a_page(service: Service):
    certificate = issue(service)
    page = service.verify(certificate["verify_url"], accept="text/html,application/xhtml+xml,*/*;q=0.8")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Valid certificate" in page.text
    assert "Nguyễn Thị Minh" in page.text and certificate["serial"] in page.text
    assert "minh@example.org" not in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"
    css = service.client.get("/static/certledger.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


def test_holder_name_is_escaped_in_the_page(service: Service):
    certificate = issue(service, name="<script>alert(1)</script> Minh")
    page = service.verify(certificate["verify_url"], accept="text/html")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_revoked_shows_when_and_why(service: Service):
    certificate = issue(service)
    service.admin.post(
        f"/api/v1/certificates/{certificate['serial']}/revoke", json={"reason": "Attendance was misrecorded"}
    )
    body = service.verify(certificate["verify_url"]).json()
    assert body["status"] == "revoked"
    assert body["revocation_reason"] == "Attendance was misrecorded"
    assert body["revoked_at"] and "+00:00" in body["revoked_at"]
    page = service.verify(certificate["verify_url"], accept="text/html")
    assert page.status_code == 200
    assert "Revoked certificate" in page.text and "Attendance was misrecorded" in page.text


def forgeries(url: str) -> list[str]:
    token = url.rsplit("/v/", 1)[1]
    serial, signature = token.split(".", 1)
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    return [
        token[:-1],
        token[:-10],
        serial,
        f"{serial}.{flipped}",
        f"CL-AAAA-BBBB-CCCC.{signature}",
        "not-a-token",
        "%00%ff",
        "x" * 2000,
    ]


def test_altered_truncated_and_unknown_tokens_get_the_same_404(service: Service):
    certificate = issue(service)
    for token in forgeries(certificate["verify_url"]):
        as_json = service.client.get(f"/v/{token}", headers={"Accept": "application/json"})
        assert as_json.status_code == 404, token
        assert as_json.json() == {"status": "invalid"}
        page = service.client.get(f"/v/{token}", headers={"Accept": "text/html"})
        assert page.status_code == 404
        assert "could not be verified" in page.text
    empty = service.client.get("/v/", headers={"Accept": "application/json"})
    assert empty.status_code == 404 and empty.json() == {"status": "invalid"}


def test_signing_keys_rotate(env):
    old = {**env, "CERTLEDGER_SECRET_KEYS": "key-one"}
    with TestClient(create_app(load_settings(old), render_processes=0)) as client:
        service = Service(client, load_settings(old))
        by_old_key = issue(service)

    rotated = {**env, "CERTLEDGER_SECRET_KEYS": "key-one,key-two"}
    with TestClient(create_app(load_settings(rotated), render_processes=0)) as client:
        service = Service(client, load_settings(rotated))
        assert service.verify(by_old_key["verify_url"]).json()["status"] == "valid"
        by_new_key = issue(service, email="kai@example.org", name="Kai Moana")
        assert by_new_key["verify_url"].split(".")[-1] != by_old_key["verify_url"].split(".")[-1]

    only_new = {**env, "CERTLEDGER_SECRET_KEYS": "key-two"}
    with TestClient(create_app(load_settings(only_new), render_processes=0)) as client:
        service = Service(client, load_settings(only_new))
        assert service.verify(by_new_key["verify_url"]).json()["status"] == "valid"
        gone = service.verify(by_old_key["verify_url"])
        assert gone.status_code == 404 and gone.json() == {"status": "invalid"}


def test_rate_limit_on_public_routes(env):
    limited = {**env, "CERTLEDGER_PUBLIC_RATE_LIMIT": "5"}
    with TestClient(create_app(load_settings(limited), render_processes=0)) as client:
        statuses = [
            client.get("/v/unknown", headers={"Accept": "application/json"}).status_code for _ in range(7)
        ]
        assert statuses[:5] == [404] * 5 and statuses[5:] == [429, 429]
        refused = client.get("/v/unknown")
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["retry-after"]) >= 1
        assert client.get("/healthz").status_code == 200


def test_verification_is_read_only(service: Service):
    certificate = issue(service)
    path = certificate["verify_url"].removeprefix(service.settings.base_url)
    assert service.client.post(path).status_code == 405
    assert service.verify(certificate["verify_url"]).json()["status"] == "valid"


def test_every_spelling_of_the_last_signature_character_but_the_genuine_one_fails(service: Service):
    certificate = issue(service)
    path = certificate["verify_url"].removeprefix(service.settings.base_url)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    statuses = {
        c: service.client.get(path[:-1] + c, headers={"Accept": "application/json"}).status_code
        for c in alphabet
    }
    assert [c for c, status in statuses.items() if status == 200] == [path[-1]]


def test_a_revocation_from_another_process_is_seen_at_once(live_server, env):
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        service = Service(http, load_settings(env))
        certificate = issue(service)
        for _ in range(3):
            assert service.verify(certificate["verify_url"]).json()["status"] == "valid"
        revoked = subprocess.run(
            [sys.executable, "-m", "service", "revoke", certificate["serial"], "--reason", "Staff decision"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
        )
        assert revoked.returncode == 0, revoked.stderr
        after = service.verify(certificate["verify_url"]).json()
        assert (after["status"], after["revocation_reason"]) == ("revoked", "Staff decision")


def test_head_answers_like_get_without_a_body(service: Service):
    certificate = issue(service)
    path = certificate["verify_url"].removeprefix(service.settings.base_url)
    found = service.client.head(path)
    assert found.status_code == 200 and found.content == b""
    assert service.client.head(path[:-2]).status_code == 404


def test_a_warm_answer_changes_at_once_on_revocation_and_supersession(service: Service):
    session = service.session()
    service.attendees(session["id"], [attendee("Minh Nguyen", "minh@example.org")])
    first = service.ask(email="minh@example.org")["certificate"]
    for _ in range(2):
        assert service.verify(first["verify_url"]).json()["status"] == "valid"
        assert "Valid certificate" in service.verify(first["verify_url"], accept="text/html").text
    service.admin.post(f"/api/v1/certificates/{first['serial']}/revoke", json={"reason": "Name misspelled"})
    assert service.verify(first["verify_url"]).json()["status"] == "revoked"
    assert "Revoked certificate" in service.verify(first["verify_url"], accept="text/html").text
    service.attendees(session["id"], [attendee("Nguyễn Thị Minh", "minh@example.org")])
    second = service.ask(email="minh@example.org")["certificate"]
    assert service.verify(first["verify_url"]).json()["superseded_by"]["serial"] == second["serial"]
    assert "Superseded certificate" in service.verify(first["verify_url"], accept="text/html").text
