"""Certificate requests through the API: every outcome, re-decisions, the notified listing, dedup."""

import asyncio
import datetime as dt
import os
import signal
import sqlite3
import time
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.ledger.database import Ledger
from service.ledger.sessions import ListRow, submit_list
from service.settings import Settings
from tests.support import RECENT, TODAY, Service, attendee, render_process_ids

MINH = attendee("Nguyễn Thị Minh", "Minh@Example.org")


def test_eligible_attendee_gets_a_certificate(service: Service):
    session = service.session(facilitators=["Jane Doe", "Sam Lee"])
    service.attendees(session["id"], [MINH, attendee("Kai Moana", "kai@example.org", full=False)])

    answer = service.ask(email="  minh@EXAMPLE.org ", facilitator="sam", message_id="<m1@mail>")

    assert answer["outcome"] == "issued" and answer["reason"] is None
    certificate = answer["certificate"]
    assert certificate["holder_name"] == "Nguyễn Thị Minh"
    assert certificate["session_date"] == RECENT.isoformat()
    assert certificate["pdf_url"] == f"/api/v1/certificates/{certificate['serial']}/pdf"
    assert certificate["verify_url"].startswith("https://certs.example.org/v/")
    assert answer["message"]
    pdf = service.intake.get(certificate["pdf_url"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_asking_again_returns_the_same_certificate(service: Service):
    session = service.session()
    service.attendees(session["id"], [MINH])
    first = service.ask(email="minh@example.org")
    again = service.ask(email="MINH@example.org", facilitator=None)
    assert again["certificate"]["serial"] == first["certificate"]["serial"]
    assert again["request_id"] != first["request_id"]


def test_same_message_id_is_the_same_request(service: Service):
    session = service.session()
    service.attendees(session["id"], [MINH])
    first = service.ask(email="minh@example.org", message_id="<same@mail>")
    again = service.ask(email="minh@example.org", message_id="<same@mail>")
    assert again["request_id"] == first["request_id"]
    assert again["certificate"]["serial"] == first["certificate"]["serial"]
    other = service.intake.post(
        "/api/v1/certificate-requests",
        json={"email": "someone@else.org", "date": RECENT.isoformat(), "message_id": "<same@mail>"},
    )
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"


def test_each_refusal_reason(service: Service):
    hub = service.session(level="hub", facilitators=["Hana Hub"], start_time="09:00")
    service.attendees(hub["id"], [MINH])
    central = service.session(facilitators=["Jane Doe"])
    service.attendees(
        central["id"],
        [
            attendee("Not Core", "notcore@example.org", core=False),
            attendee("Left Early", "early@example.org", full=False),
        ],
    )
    service.session(facilitators=["Leslie Later"], start_time="20:00")

    cases = {
        ("minh@example.org", "Hana Hub"): ("rejected", "hub_session"),
        ("stranger@example.org", "Jane Doe"): ("rejected", "not_on_list"),
        ("notcore@example.org", "Jane Doe"): ("rejected", "not_core_trained"),
        ("early@example.org", None): ("rejected", "incomplete_participation"),
        ("minh@example.org", "Leslie Later"): ("pending", "list_not_submitted"),
    }
    for (email, facilitator), expected in cases.items():
        answer = service.ask(email=email, facilitator=facilitator)
        assert (answer["outcome"], answer["reason"]) == expected, (email, answer)
        assert answer["certificate"] is None
        assert answer["message"]

    old = (TODAY - dt.timedelta(days=45)).isoformat()
    assert service.ask(email="minh@example.org", date=old)["outcome"] == "rejected"
    assert service.ask(email="minh@example.org", date=old)["reason"] == "no_session"
    recent = service.ask(email="minh@example.org", date=(TODAY - dt.timedelta(days=29)).isoformat())
    assert (recent["outcome"], recent["reason"]) == ("pending", "no_session")


def test_ambiguous_request_names_the_sessions(service: Service):
    a = service.session(facilitators=["Jane Doe"], start_time="10:00")
    b = service.session(facilitators=["Jane Smith"], start_time="19:30")
    service.attendees(a["id"], [MINH])
    service.attendees(b["id"], [MINH])

    answer = service.ask(email="minh@example.org", facilitator="Jane")
    assert (answer["outcome"], answer["reason"]) == ("rejected", "ambiguous")
    assert "10:00" in answer["message"] and "19:30" in answer["message"]
    assert "Jane Doe" in answer["message"] and "Jane Smith" in answer["message"]

    picked = service.ask(email="minh@example.org", facilitator="Jane", start_time="19:30")
    assert picked["outcome"] == "issued"


def test_pending_request_is_decided_when_the_session_and_list_arrive(service: Service):
    first = service.ask(email="minh@example.org", message_id="<early@mail>")
    assert (first["outcome"], first["reason"]) == ("pending", "no_session")

    session = service.session()
    waiting = service.intake.get("/api/v1/certificate-requests", params={"status": "pending"}).json()
    assert waiting["requests"][0]["reason"] == "list_not_submitted"
    assert untold(service) == []

    service.attendees(session["id"], [MINH])
    changed = untold(service)
    assert [r["request_id"] for r in changed] == [first["request_id"]]
    assert changed[0]["outcome"] == "issued"
    assert changed[0]["email"] == "minh@example.org"
    assert changed[0]["message_id"] == "<early@mail>"
    assert changed[0]["certificate"]["holder_name"] == "Nguyễn Thị Minh"

    marked = service.intake.post(f"/api/v1/certificate-requests/{first['request_id']}/notified")
    assert marked.status_code == 200
    assert untold(service) == []


def test_recent_refusal_is_decided_again_when_a_corrected_list_arrives(service: Service):
    session = service.session()
    service.attendees(session["id"], [attendee("Nguyễn Thị Minh", "minh@example.org", full=False)])
    refused = service.ask(email="minh@example.org")
    assert refused["reason"] == "incomplete_participation"

    service.attendees(session["id"], [MINH])
    changed = untold(service)
    assert [(r["request_id"], r["outcome"]) for r in changed] == [(refused["request_id"], "issued")]


def test_pending_without_a_session_is_refused_after_thirty_days(settings):
    now = [dt.datetime.now(dt.UTC)]
    with TestClient(create_app(settings, render_processes=0, clock=lambda: now[0])) as client:
        date = (now[0].date() - dt.timedelta(days=28)).isoformat()
        first = Service(client, settings).ask(email="minh@example.org", date=date)
        assert first["outcome"] == "pending"
    now[0] += dt.timedelta(days=3)
    # The sweep (at start, then hourly) refuses what waited past the window.
    with TestClient(create_app(settings, render_processes=0, clock=lambda: now[0])) as client:
        service = Service(client, settings)
        deadline = time.monotonic() + 10
        while not (changed := untold(service)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [(r["request_id"], r["outcome"], r["reason"]) for r in changed] == [
            (first["request_id"], "rejected", "no_session")
        ]


def test_revoked_certificate_is_not_issued_again_until_the_list_corrects_it(service: Service):
    session = service.session()
    service.attendees(session["id"], [attendee("Minh Nguyen", "minh@example.org")])
    issued = service.ask(email="minh@example.org")["certificate"]
    revoked = service.admin.post(
        f"/api/v1/certificates/{issued['serial']}/revoke", json={"reason": "Wrong name"}
    )
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"

    again = service.ask(email="minh@example.org")
    assert (again["outcome"], again["reason"]) == ("rejected", "revoked")
    service.attendees(
        session["id"], [attendee("Minh Nguyen", "minh@example.org"), attendee("X", "x@example.org")]
    )
    assert service.ask(email="minh@example.org")["reason"] == "revoked"

    service.attendees(session["id"], [MINH])
    corrected = service.ask(email="minh@example.org")
    assert corrected["outcome"] == "issued"
    assert corrected["certificate"]["serial"] != issued["serial"]
    assert corrected["certificate"]["holder_name"] == "Nguyễn Thị Minh"
    old = service.verify(issued["verify_url"]).json()
    assert old["status"] == "superseded"
    assert old["superseded_by"]["serial"] == corrected["certificate"]["serial"]


def test_name_correction_reissues_and_supersedes(service: Service):
    session = service.session()
    service.attendees(session["id"], [attendee("Minh Nguyen", "minh@example.org")])
    first = service.ask(email="minh@example.org")["certificate"]
    service.attendees(session["id"], [MINH])
    second = service.ask(email="minh@example.org")["certificate"]
    assert second["serial"] != first["serial"]
    assert service.ask(email="minh@example.org")["certificate"]["serial"] == second["serial"]
    assert service.verify(first["verify_url"]).json()["superseded_by"] == {
        "serial": second["serial"],
        "verify_url": second["verify_url"],
    }
    assert service.verify(second["verify_url"]).json()["status"] == "valid"
    page = service.verify(first["verify_url"], accept="text/html").text
    assert "Superseded certificate" in page and second["verify_url"] in page
    with sqlite3.connect(service.settings.db_path) as db:
        issued = db.execute(
            "SELECT subject, json_extract(payload, '$.supersedes') FROM events WHERE kind = 'certificate.issued'"
        ).fetchall()
    assert issued == [
        (f"certificate:{first['serial']}", None),
        (f"certificate:{second['serial']}", first["serial"]),
    ]


def test_date_line_online_session(service: Service):
    session = service.session(date=RECENT.isoformat(), start_time="21:00", timezone="America/Los_Angeles")
    service.attendees(session["id"], [MINH])
    next_day = (RECENT + dt.timedelta(days=1)).isoformat()
    answer = service.ask(email="minh@example.org", date=next_day, facilitator="Jane")
    assert answer["outcome"] == "issued"
    assert answer["certificate"]["session_date"] == RECENT.isoformat()


def untold(service: Service) -> list[dict]:
    response = service.intake.get(
        "/api/v1/certificate-requests", params={"status": "decided", "notified": "false"}
    )
    assert response.status_code == 200, response.text
    return response.json()["requests"]


def store_list_without_its_redecisions(settings, session_id: str) -> None:
    """Minh eligible on a new list version, stored as a crash right after its commit would leave it."""

    async def store() -> None:
        ledger = Ledger(settings.db_path, settings.ledger_key)
        await ledger.open()
        async with ledger.write("test") as tx:
            row = ListRow(name="Minh", email="minh@example.org", core_trained=True, full_participation=True)
            await submit_list(tx, session_id, [row])
        await ledger.close()

    asyncio.run(store())


def decided_after_a_restart(settings) -> list[tuple[str, str]]:
    """(request id, outcome) of what the sweep at the next start decided and nobody was told yet."""
    with TestClient(create_app(settings, render_processes=0)) as client:
        service = Service(client, settings)
        deadline = time.monotonic() + 10
        while not (changed := untold(service)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return [(r["request_id"], r["outcome"]) for r in changed]


def test_the_sweep_decides_what_a_lost_re_decision_left_pending(settings):
    """A list stored without its re-decisions (a crash right after the commit) is caught up at start."""
    with TestClient(create_app(settings, render_processes=0)) as client:
        service = Service(client, settings)
        session = service.session()
        waiting = service.ask(email="minh@example.org")
        assert waiting["reason"] == "list_not_submitted"

    store_list_without_its_redecisions(settings, session["id"])
    assert decided_after_a_restart(settings) == [(waiting["request_id"], "issued")]


def test_the_sweep_finishes_a_corrected_lists_re_decisions_cut_short(settings):
    """A refusal that a corrected list should turn into a certificate, after a crash right after the
    list's commit: the sweep at the next start finishes the job."""
    with TestClient(create_app(settings, render_processes=0)) as client:
        service = Service(client, settings)
        session = service.session()
        service.attendees(session["id"], [attendee("Minh", "minh@example.org", full=False)])
        refused = service.ask(email="minh@example.org")
        assert refused["reason"] == "incomplete_participation"

    store_list_without_its_redecisions(settings, session["id"])
    assert decided_after_a_restart(settings) == [(refused["request_id"], "issued")]


def test_an_old_refusal_is_not_reopened_by_a_late_session(service: Service):
    old = (TODAY - dt.timedelta(days=50)).isoformat()
    refused = service.ask(email="minh@example.org", date=old)
    assert (refused["outcome"], refused["reason"]) == ("rejected", "no_session")
    service.session(date=old)
    assert untold(service) == []
    person = service.admin.get("/api/v1/certificates", params={"email": "minh@example.org"}).json()
    assert [(r["outcome"], r["reason"]) for r in person["requests"]] == [("rejected", "no_session")]


def test_a_notice_of_an_outcome_that_changed_again_keeps_the_request_untold(service: Service):
    """The intake tells a refusal; meanwhile a corrected list issues the certificate: still untold."""
    session = service.session()
    waiting = service.ask(email="minh@example.org")
    assert waiting["outcome"] == "pending"
    service.attendees(session["id"], [attendee("Minh", "minh@example.org", core=False)])
    (refusal,) = untold(service)
    assert refusal["outcome"] == "rejected"
    service.attendees(session["id"], [attendee("Minh", "minh@example.org")])
    marked = service.intake.post(
        f"/api/v1/certificate-requests/{waiting['request_id']}/notified", params={"outcome": "rejected"}
    )
    assert marked.status_code == 200
    (still,) = untold(service)
    assert still["outcome"] == "issued"
    service.intake.post(
        f"/api/v1/certificate-requests/{waiting['request_id']}/notified", params={"outcome": "issued"}
    )
    assert untold(service) == []


@pytest.fixture
def service_with_render_process(settings: Settings) -> Iterator[Service]:
    with TestClient(create_app(settings, render_processes=1)) as client:
        yield Service(client, settings)


def test_without_a_render_process_a_request_is_a_503_and_nothing_is_recorded(
    service_with_render_process: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = service_with_render_process
    session = service.session()
    service.attendees(session["id"], [attendee("Ann Lee", "ann@example.org")])
    (render_process,) = render_process_ids()
    os.kill(render_process, signal.SIGKILL)
    monkeypatch.setattr("sys.executable", "/nonexistent/python3")

    answer = service.intake.post(
        "/api/v1/certificate-requests",
        json={"email": "ann@example.org", "date": RECENT.isoformat(), "facilitator": "Jane Doe"},
    )

    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.headers["retry-after"] == "30"
    assert "nothing was recorded" in answer.json()["detail"]
    assert service.intake.get("/api/v1/certificate-requests").json() == {"requests": []}
    monkeypatch.undo()
    assert service.ask(email="ann@example.org")["outcome"] == "issued"
