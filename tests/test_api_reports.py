"""POST /api/v1/sessions/{id}/attendance-report (SPEC §6) over the real app and a real SQLite file:
who may ask, what it answers, what it refuses and why, and that it stores nothing."""

import asyncio
import codecs
import sqlite3
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.ledger.database import Ledger
from service.ledger.tokens import create_token
from service.settings import load_settings
from tests.support import Caller, Service, attendee

DATA = Path(__file__).parent / "data" / "reports"
ZOOM = (DATA / "zoom-participants.csv").read_bytes()
TEAMS = (DATA / "teams-attendance.csv").read_bytes()
CSV = {"Content-Type": "text/csv"}
PROBLEM_JSON = "application/problem+json"
ATTENDEE_KEYS = {
    "name",
    "email",
    "core_trained",
    "full_participation",
    "minutes_present",
    "joined_late_minutes",
    "left_early_minutes",
    "notes",
}
ZOOM_NUMBERS = {
    "aroha@example.nz": (True, 90, 0, 0),
    "miguel.torres@example.com": (True, 87, 1, 0),
    "priya@example.in": (False, 65, 24, 0),
    "kai.becker@example.de": (False, 53, 2, 34),
}


def route(session_id: str) -> str:
    return f"/api/v1/sessions/{session_id}/attendance-report"


def sample_session(service: Service, caller: Caller | None = None, **fields: Any) -> dict[str, Any]:
    """The samples' session: Wednesday 4 March 2026, 18:00 New York, 90 minutes, Jane Doe."""
    return service.session(caller, date="2026-03-04", **fields)


def numbers(body: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        a["email"]: (
            a["full_participation"],
            a["minutes_present"],
            a["joined_late_minutes"],
            a["left_early_minutes"],
        )
        for a in body["attendees"]
    }


def assert_problem(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status and body["title"] and "Traceback" not in response.text
    return body["detail"]


def ledger_rows(service: Service) -> dict[str, int]:
    """How many rows each table of the ledger file holds: the proof that nothing was stored."""
    with sqlite3.connect(f"file:{service.settings.db_path}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}


def facilitator_with_email(service: Service, name: str, email: str) -> Caller:
    async def create() -> str:
        ledger = Ledger(service.settings.db_path, service.settings.ledger_key)
        await ledger.open()
        try:
            async with ledger.write("test") as tx:
                _, token = await create_token(
                    tx, role="facilitator", name=name, email=email, levels=("central", "hub")
                )
            return token
        finally:
            await ledger.close()

    return Caller(service.client, asyncio.run(create()))


# --- the answer ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(CSV, id="text/csv"),
        pytest.param({}, id="no content type"),
        pytest.param({"Content-Type": "application/octet-stream"}, id="octet-stream"),
        pytest.param({"Content-Type": "application/vnd.ms-excel"}, id="what Windows browsers send"),
    ],
)
def test_facilitator_gets_the_proposal_for_their_own_session(service: Service, headers: dict[str, str]):
    jane = service.facilitator()
    session = sample_session(service, jane)
    response = jane.post(route(session["id"]), content=ZOOM, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"attendees", "unmatched", "notes"}
    assert all(set(a) == ATTENDEE_KEYS for a in body["attendees"])
    assert body["notes"] == []
    assert numbers(body) == ZOOM_NUMBERS
    priya = next(a for a in body["attendees"] if a["email"] == "priya@example.in")
    assert priya["notes"] == ["joined 24 min late (more than 15 min)"]
    kai = next(a for a in body["attendees"] if a["email"] == "kai.becker@example.de")
    assert "left 34 min early (more than 10 min)" in kai["notes"]
    assert [set(u) for u in body["unmatched"]] == [{"name", "reason"}] * 2
    assert body["unmatched"][0]["name"] == "Tom's iPhone"
    assert body["unmatched"][1] == {"name": "Jane Doe", "reason": "a facilitator of this session"}


def test_teams_report_utf16_and_declared_charset(service: Service):
    session = sample_session(service)
    for headers in (
        CSV,
        {"Content-Type": "text/csv; charset=UTF-16"},
        {"Content-Type": "text/tab-separated-values"},
    ):
        body = service.admin.post(route(session["id"]), content=TEAMS, headers=headers).json()
        assert numbers(body) == {
            "chidi.okafor@example.org": (True, 90, 0, 0),
            "lin.mei@example.org": (True, 85, 1, 0),
            "ruth@example.org": (False, 69, 20, 0),
        }
    bare = TEAMS.removeprefix(codecs.BOM_UTF16_LE)
    declared = service.admin.post(
        route(session["id"]), content=bare, headers={"Content-Type": "text/csv; charset=utf-16le"}
    )
    assert len(declared.json()["attendees"]) == 3


def test_a_session_on_the_other_reading_of_the_date(service: Service):
    """3/4/26 is 3 April for a session on 3 April."""
    session = service.session(date="2026-04-03")
    assert len(service.admin.post(route(session["id"]), content=TEAMS, headers=CSV).json()["attendees"]) == 3


def test_without_a_start_time_the_reports_meeting_start_counts(service: Service):
    session = sample_session(service, start_time=None)
    body = service.admin.post(route(session["id"]), content=ZOOM, headers=CSV).json()
    assert numbers(body) == ZOOM_NUMBERS
    assert body["notes"] == [
        "The session has no registered start time: the report's meeting start, 18:00, is taken as its "
        "start. Register the start time to judge lateness from the schedule."
    ]


HEADER = "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"


@pytest.mark.parametrize(
    ("report", "start_time", "words"),
    [
        pytest.param(
            HEADER + "W,w@example.org,01/01/0001 12:00:00 AM,03/04/2026 07:30:00 PM,30,Yes\n",
            "18:00",
            "Row 2: the join time, 1 January 1",
            id="a join in year 1 (was: present all along)",
        ),
        pytest.param(
            HEADER + "W,w@example.org,03/04/2026 06:00:00 PM,12/31/9999 11:59:59 PM,30,Yes\n",
            "18:00",
            "Row 2: the leave time, 31 December 9999",
            id="a leave in year 9999 (was: a 500)",
        ),
        pytest.param(
            "Meeting ID,Topic,Start Time,End Time\n1,T,12/31/9999 11:00:00 PM,\n\n"
            + HEADER
            + "W,w@example.org,03/04/2026 06:00:00 PM,03/04/2026 07:30:00 PM,30,Yes\n",
            None,
            "The meeting's start time, 31 December 9999",
            id="a meeting start in year 9999 without a start time (was: a 500)",
        ),
    ],
)
def test_a_time_far_from_the_session_is_a_422_naming_it_never_a_500(
    service: Service, report: str, start_time: str | None, words: str
):
    session = service.session(date="2026-03-04", start_time=start_time, timezone="Asia/Tokyo")
    detail = assert_problem(
        service.admin.post(route(session["id"]), content=report.encode(), headers=CSV), 422
    )
    assert detail.startswith(words) and "within 2 days of the session's date" in detail


def test_without_any_start_the_host_opening_early_does_not_make_everyone_late(service: Service):
    session = sample_session(service, start_time=None)
    report = HEADER + (
        "Jane Doe (Host),jane@example.org,03/04/2026 05:40:00 PM,03/04/2026 07:30:00 PM,110,No\n"
        "Aroha Ngata,aroha@example.nz,03/04/2026 05:30:00 PM,03/04/2026 05:31:00 PM,1,Yes\n"
        "Aroha Ngata,aroha@example.nz,03/04/2026 06:00:00 PM,03/04/2026 07:30:00 PM,90,Yes\n"
        "Kai Becker,kai@example.de,03/04/2026 06:10:00 PM,03/04/2026 07:30:00 PM,80,Yes\n"
    )
    body = service.admin.post(route(session["id"]), content=report.encode(), headers=CSV).json()
    assert numbers(body) == {"aroha@example.nz": (True, 90, 0, 0), "kai@example.de": (True, 80, 10, 0)}
    assert "taken as 18:00 (America/New_York)" in body["notes"][0]


def test_a_report_in_which_nobody_attended_the_session_is_a_422(service: Service):
    """Another meeting's report: before, everyone came out absent."""
    session = service.session(date="2026-03-04", start_time="09:00")
    detail = assert_problem(service.admin.post(route(session["id"]), content=ZOOM, headers=CSV), 422)
    assert "Nobody in this report was in the meeting during the session (09:00 to 10:30" in detail


def test_thresholds_come_from_the_settings(env: dict[str, str]):
    lenient = {**env, "CERTLEDGER_MAX_LATE_MINUTES": "25", "CERTLEDGER_MAX_EARLY_MINUTES": "35"}
    settings = load_settings(lenient)
    with TestClient(create_app(settings, render_processes=0)) as client:
        service = Service(client, settings)
        session = sample_session(service)
        body = service.admin.post(route(session["id"]), content=ZOOM, headers=CSV).json()
    assert all(a["full_participation"] for a in body["attendees"])


# --- who may ask --------------------------------------------------------------------------------------


def test_only_the_sessions_facilitator_or_an_admin(service: Service):
    jane = service.facilitator()
    session = sample_session(service, jane)
    assert service.admin.post(route(session["id"]), content=ZOOM, headers=CSV).status_code == 200
    other = service.facilitator("Sam Lee")
    assert "ses_" in assert_problem(other.post(route(session["id"]), content=ZOOM, headers=CSV), 404)
    assert_problem(service.intake.post(route(session["id"]), content=ZOOM, headers=CSV), 403)
    response = service.anonymous.post(route(session["id"]), content=ZOOM, headers=CSV)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_problem(service.admin.post(route("ses_does_not_exist"), content=ZOOM, headers=CSV), 404)


# --- what it refuses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param(b"first,last,score\nAda,Lovelace,10\n", "not an attendance report", id="a random CSV"),
        pytest.param(b"", "empty", id="empty body"),
        pytest.param(bytes(range(256)) * 64, "not text", id="binary garbage"),
        pytest.param(b"PK\x03\x04" + bytes(300), "xlsx", id="an Excel workbook"),
        pytest.param(b'{"attendees": []}', "not an attendance report", id="JSON sent as CSV"),
    ],
)
def test_a_file_that_is_no_report_is_a_422_saying_what_was_expected(
    service: Service, body: bytes, words: str
):
    session = sample_session(service)
    detail = assert_problem(service.admin.post(route(session["id"]), content=body, headers=CSV), 422)
    assert words in detail
    assert "Zoom participant report" in detail and "Microsoft Teams attendance report" in detail


def test_another_days_report_is_a_422_naming_both_dates(service: Service):
    session = service.session(date="2026-03-11")
    detail = assert_problem(service.admin.post(route(session["id"]), content=ZOOM, headers=CSV), 422)
    assert "4 March 2026" in detail and "11 March 2026" in detail


@pytest.mark.parametrize("media_type", ["application/json", "multipart/form-data; boundary=x", "image/png"])
def test_a_body_declared_as_something_else_is_a_415(service: Service, media_type: str):
    session = sample_session(service)
    detail = assert_problem(
        service.admin.post(route(session["id"]), content=ZOOM, headers={"Content-Type": media_type}), 415
    )
    assert "text/csv" in detail and "--data-binary" in detail


def test_more_than_5_mb_is_a_413_and_up_to_it_is_read(service: Service):
    session = sample_session(service)
    too_big = ZOOM + b"\n" * (5 * 1024 * 1024)
    detail = assert_problem(service.admin.post(route(session["id"]), content=too_big, headers=CSV), 413)
    assert "5 MB" in detail
    # Above the API's 2 MB for JSON bodies: a long meeting's export (25,000 reconnect rows) is still read.
    row = b"Aroha Ngata,aroha@example.nz,03/04/2026 06:00:00 PM,03/04/2026 07:30:00 PM,90,Yes,No\n"
    large = ZOOM + row * 25_000
    assert 2 * 1024 * 1024 < len(large) <= 5 * 1024 * 1024
    body = service.admin.post(route(session["id"]), content=large, headers=CSV).json()
    assert numbers(body) == ZOOM_NUMBERS


def test_an_unknown_query_parameter_is_a_422(service: Service):
    session = sample_session(service)
    response = service.admin.post(route(session["id"]) + "?dry_run=1", content=ZOOM, headers=CSV)
    assert "dry_run" in assert_problem(response, 422)


# --- the ledger: read, never written ------------------------------------------------------------------


def test_nothing_is_stored(service: Service):
    jane = service.facilitator()
    session = sample_session(service, jane)
    before = ledger_rows(service)
    assert jane.post(route(session["id"]), content=ZOOM, headers=CSV).status_code == 200
    assert jane.post(route(session["id"]), content=b"junk", headers=CSV).status_code == 422
    assert ledger_rows(service) == before
    assert jane.get(f"/api/v1/sessions/{session['id']}").json()["list_version"] is None

    service.attendees(session["id"], [attendee("Aroha Ngata", "aroha@example.nz")], caller=jane)
    before = ledger_rows(service)
    assert jane.post(route(session["id"]), content=TEAMS, headers=CSV).status_code == 200
    assert ledger_rows(service) == before
    assert jane.get(f"/api/v1/sessions/{session['id']}").json()["list_version"] == 1
    assert [
        a["email"] for a in jane.get(f"/api/v1/sessions/{session['id']}/attendees").json()["attendees"]
    ] == ["aroha@example.nz"]


def test_the_proposal_can_be_put_back_as_the_list_unchanged(service: Service):
    jane = service.facilitator()
    session = sample_session(service, jane)
    proposal = jane.post(route(session["id"]), content=ZOOM, headers=CSV).json()
    submitted = jane.put(f"/api/v1/sessions/{session['id']}/attendees", json=proposal)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json() == {"version": 1, "attendees": 4, "eligible": 0}
    listed = jane.get(f"/api/v1/sessions/{session['id']}/attendees").json()["attendees"]
    assert [(a["name"], a["email"], a["full_participation"]) for a in listed] == [
        (a["name"], a["email"], a["full_participation"]) for a in proposal["attendees"]
    ]
    # The facilitator ticks core training; the two in full are then eligible.
    for row in proposal["attendees"]:
        row["core_trained"] = True
    assert jane.put(f"/api/v1/sessions/{session['id']}/attendees", json=proposal).json()["eligible"] == 2


def test_core_training_and_names_come_from_current_lists(service: Service):
    earlier = service.session(date="2026-02-04", facilitators=["Sam Lee"])
    service.attendees(
        earlier["id"],
        [
            attendee("Priya Raman-Iyer", "Priya@Example.in", core=True),
            attendee("Kai Becker", "kai.becker@example.de", core=False),
        ],
    )
    jane = service.facilitator()
    session = sample_session(service, jane)  # another facilitator's session: the ledger as a whole counts
    by_email = {
        a["email"]: a for a in jane.post(route(session["id"]), content=ZOOM, headers=CSV).json()["attendees"]
    }
    assert (by_email["priya@example.in"]["name"], by_email["priya@example.in"]["core_trained"]) == (
        "Priya Raman-Iyer",
        True,
    )
    assert by_email["kai.becker@example.de"]["core_trained"] is False
    assert by_email["aroha@example.nz"]["core_trained"] is False

    # A later version of that list takes the tick back: the ledger no longer holds Priya as core-trained.
    service.attendees(earlier["id"], [attendee("Priya Raman", "priya@example.in", core=False)])
    by_email = {
        a["email"]: a for a in jane.post(route(session["id"]), content=ZOOM, headers=CSV).json()["attendees"]
    }
    assert (by_email["priya@example.in"]["name"], by_email["priya@example.in"]["core_trained"]) == (
        "Priya Raman",
        False,
    )


def test_the_facilitators_token_email_is_left_out(service: Service):
    kai = facilitator_with_email(service, "Kai B.", "Kai.Becker@example.de")
    session = sample_session(service, kai, facilitators=["Kai B."])
    body = kai.post(route(session["id"]), content=ZOOM, headers=CSV).json()
    # Jane Doe is no facilitator of this session: she stays, as the meeting's host.
    assert "kai.becker@example.de" not in numbers(body)
    jane = next(a for a in body["attendees"] if a["email"] == "jane.doe@ipscentral.test")
    assert "a host of the meeting, not a facilitator of this session" in jane["notes"]


def test_the_route_is_documented_with_the_specs_shape(service: Service):
    document = service.client.get("/schema/openapi.json").json()
    operation = document["paths"]["/api/v1/sessions/{session_id}/attendance-report"]["post"]
    assert set(operation["requestBody"]["content"]) >= {"text/csv", "application/octet-stream"}
    assert {"200", "401", "403", "404", "413", "415", "422"} <= set(operation["responses"])
    schemas = document["components"]["schemas"]
    assert set(schemas["ProposedAttendee"]["properties"]) == ATTENDEE_KEYS
    assert set(schemas["Unmatched"]["properties"]) == {"name", "reason"}
    assert set(schemas["Proposal"]["properties"]) == {"attendees", "unmatched", "notes"}
    # Real answers, the nulls of a 'unique users' export included, hold to the documented schema
    # (jsonschema_rs comes with schemathesis).
    validator = jsonschema_rs.validator_for(
        {"$ref": "#/components/schemas/Proposal", "components": document["components"]}
    )
    session = sample_session(service)
    for report in (ZOOM, (DATA / "zoom-unique-users.csv").read_bytes(), TEAMS):
        answer = service.admin.post(route(session["id"]), content=report, headers=CSV).json()
        validator.validate(answer)
    assert not validator.is_valid({"attendees": [{"name": "x"}], "unmatched": []})
