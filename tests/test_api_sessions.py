"""Sessions, attendee lists and who may touch them (SPEC §3)."""

import ast
from pathlib import Path

import msgspec
import pytest

from service.api.fields import Email
from service.rules.attendee_lists import is_email
from tests.support import RECENT, ROOT, Service, attendee


def test_session_is_created_and_echoed(service: Service):
    body = {
        "date": "2026-03-04",
        "start_time": "18:00",
        "timezone": "America/New_York",
        "duration_minutes": 90,
        "facilitators": ["Jane Doe", "Sam Lee"],
        "level": "central",
        "organization": None,
        "title": "IPS Co-reflection",
        "delivery": "online",
    }
    created = service.admin.post("/api/v1/sessions", json=body)
    assert created.status_code == 201
    session = created.json()
    assert isinstance(session["id"], str) and session["id"]
    assert {k: session[k] for k in body} == body
    assert service.admin.get(f"/api/v1/sessions/{session['id']}").json()["id"] == session["id"]
    listed = service.intake.get("/api/v1/sessions", params={"date": "2026-03-04"}).json()["sessions"]
    assert [s["id"] for s in listed] == [session["id"]]


def test_defaults_for_optional_fields(service: Service):
    session = service.admin.post(
        "/api/v1/sessions",
        json={"date": "2026-03-04", "duration_minutes": 60, "facilitators": ["Jane Doe"], "level": "hub"},
    ).json()
    assert session["timezone"] == "America/New_York"
    assert session["title"] == "IPS Co-reflection"
    assert session["delivery"] == "online"
    assert session["start_time"] is None
    assert session["organization"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"facilitators": []}, "facilitators"),
        ({"duration_minutes": 29}, "duration_minutes"),
        ({"duration_minutes": 241}, "duration_minutes"),
        ({"level": "national"}, "level"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"start_time": "25:00"}, "start_time"),
        ({"date": "2026-02-30"}, "date"),
        ({"delivery": "carrier pigeon"}, "delivery"),
        ({"facilitators": ["Jane\u0000Doe"]}, "facilitators[0]"),
        ({"facilitators": ["   "]}, "facilitators[0]"),
        ({"title": "x" * 5000}, "title"),
        ({"levle": "central"}, "levle"),
    ],
)
def test_session_that_breaks_a_rule_is_a_422_naming_the_field(service: Service, change, field):
    body = {
        "date": "2026-03-04",
        "duration_minutes": 90,
        "facilitators": ["Jane Doe"],
        "level": "central",
        **change,
    }
    response = service.admin.post("/api/v1/sessions", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and problem["title"]
    assert field in {e["field"] for e in problem["errors"]} or field in problem["detail"]
    assert service.admin.get("/api/v1/sessions").json()["sessions"] == []


def test_attendee_list_versions(service: Service):
    session = service.session()
    first = service.attendees(
        session["id"],
        [
            attendee("Nguyễn Thị Minh", "minh@example.org", pronouns="she/her"),
            attendee("Kai", "kai@example.org", full=False),
            attendee("New", "new@example.org", core=False),
        ],
    )
    assert first == {"version": 1, "attendees": 3, "eligible": 1}
    second = service.attendees(session["id"], [attendee("Kai", "kai@example.org")])
    assert second == {"version": 2, "attendees": 1, "eligible": 1}

    latest = service.admin.get(f"/api/v1/sessions/{session['id']}/attendees").json()
    assert latest["version"] == 2 and [a["email"] for a in latest["attendees"]] == ["kai@example.org"]
    earlier = service.admin.get(f"/api/v1/sessions/{session['id']}/attendees", params={"version": 1}).json()
    assert earlier["attendees"][0] == {
        "name": "Nguyễn Thị Minh",
        "email": "minh@example.org",
        "core_trained": True,
        "full_participation": True,
        "pronouns": "she/her",
    }
    assert service.admin.get(f"/api/v1/sessions/{session['id']}").json()["list_version"] == 2


@pytest.mark.parametrize(
    ("rows", "row", "field"),
    [
        ([attendee("A", "a@example.org"), attendee("B", "not-an-email")], 2, "attendees[1].email"),
        (
            [attendee("A", "a@example.org"), {"name": "B", "email": "b@example.org", "core_trained": True}],
            2,
            "attendees[1]",
        ),
        ([attendee("A", "a@example.org"), attendee("A again", " A@EXAMPLE.org ")], 2, "attendees[1].email"),
        ([attendee("", "a@example.org")], 1, "attendees[0].name"),
    ],
)
def test_bad_list_is_a_422_naming_the_row(service: Service, rows, row, field):
    session = service.session()
    service.attendees(session["id"], [attendee("Kept", "kept@example.org")])
    response = service.admin.put(f"/api/v1/sessions/{session['id']}/attendees", json={"attendees": rows})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert f"row {row}" in problem["detail"]
    assert any(e["field"].startswith(field) and e["row"] == row for e in problem["errors"])
    kept = service.admin.get(f"/api/v1/sessions/{session['id']}/attendees").json()
    assert kept["version"] == 1 and kept["attendees"][0]["email"] == "kept@example.org"


def test_tokens_and_roles(service: Service):
    body = {"date": RECENT.isoformat(), "duration_minutes": 90, "facilitators": ["Jane Doe"], "level": "hub"}
    assert service.anonymous.post("/api/v1/sessions", json=body).status_code == 401
    bad = service.client.post("/api/v1/sessions", json=body, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.headers["content-type"] == "application/problem+json"
    basic = service.client.post("/api/v1/sessions", json=body, headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401
    assert service.intake.post("/api/v1/sessions", json=body).status_code == 403
    facilitator = service.facilitator(levels=("hub",))
    request = {"email": "a@example.org", "date": RECENT.isoformat()}
    assert facilitator.post("/api/v1/certificate-requests", json=request).status_code == 403
    assert facilitator.get("/api/v1/certificates", params={"email": "a@example.org"}).status_code == 403


def test_facilitator_registers_only_the_levels_staff_granted(service: Service):
    hub_only = service.facilitator("Hana Hub", levels=("hub",))
    body = {
        "date": RECENT.isoformat(),
        "duration_minutes": 90,
        "facilitators": ["Hana Hub"],
        "level": "central",
    }
    refused = hub_only.post("/api/v1/sessions", json=body)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert hub_only.post("/api/v1/sessions", json={**body, "level": "hub"}).status_code == 201
    central = service.facilitator("Jane Doe", levels=("central",))
    assert central.post("/api/v1/sessions", json=body).status_code == 201


def test_facilitator_sees_and_changes_only_their_own_sessions(service: Service):
    jane, sam = service.facilitator("Jane Doe"), service.facilitator("Sam Lee")
    mine = service.session(caller=jane)
    theirs = service.session(caller=sam, facilitators=["Sam Lee"])

    assert [s["id"] for s in jane.get("/api/v1/sessions").json()["sessions"]] == [mine["id"]]
    assert [
        s["id"] for s in jane.get("/api/v1/sessions", params={"date": RECENT.isoformat()}).json()["sessions"]
    ] == [mine["id"]]
    assert jane.get(f"/api/v1/sessions/{theirs['id']}").status_code == 404
    rows = {"attendees": [attendee("A", "a@example.org")]}
    assert jane.put(f"/api/v1/sessions/{theirs['id']}/attendees", json=rows).status_code == 404
    assert jane.put(f"/api/v1/sessions/{mine['id']}/attendees", json=rows).status_code == 200
    assert (
        len(service.intake.get("/api/v1/sessions", params={"date": RECENT.isoformat()}).json()["sessions"])
        == 2
    )


def test_revoked_token_stops_working(service: Service):
    import asyncio

    from service.ledger.database import Ledger
    from service.ledger.tokens import list_tokens, revoke_token

    jane = service.facilitator("Jane Doe")
    assert jane.get("/api/v1/sessions").status_code == 200

    async def revoke() -> None:
        ledger = Ledger(service.settings.db_path, service.settings.ledger_key)
        await ledger.open()
        async with ledger.read() as db:
            token_id = next(t.id for t in await list_tokens(db) if t.name == "Jane Doe")
        async with ledger.write("test") as tx:
            await revoke_token(tx, token_id)
        await ledger.close()

    asyncio.run(revoke())
    assert jane.get("/api/v1/sessions").status_code == 401


def _imports(path: Path) -> set[tuple[str, str]]:
    """(module, name) for every `from module import name` of a source file, `import module` as (module, "")."""
    found: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {(node.module, alias.name) for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {(alias.name, "") for alias in node.names}
    return found


def test_the_shared_steps_live_outside_the_http_layer():
    """Registering a session and submitting a list are service.lists, which the API and the portal both
    call; the report import and the lists keep the email rule from service.rules, not from service.api."""
    service_dir = ROOT / "service"
    for path in [service_dir / "lists.py", *sorted((service_dir / "reports").glob("*.py"))]:
        reaching = {module for module, _ in _imports(path) if module.startswith("service.api")}
        assert not reaching, f"{path.name} imports {reaching}"
    structs = {"AttendeeIn", "AttendeeListIn", "SessionIn"}  # the API's field rules the forms decode into
    for path in sorted((service_dir / "portal").glob("*.py")):
        for module, name in _imports(path):
            if module == "service.api.sessions":
                assert name in structs, f"portal/{path.name} takes {name} from the API's handlers"
            assert module != "service.api.fields", f"portal/{path.name} takes field rules from the API"
    assert ("service.ledger.exports", "find_active_token_by_hash") not in _imports(
        service_dir / "portal" / "sign_in.py"
    )


def test_the_email_rule_is_one_rule():
    """The API's Email field is built from service.rules.attendee_lists, which the report import, the
    portal's staff search and the lists use."""
    for text in ("ana@example.org", " Ana@Example.org ", "a.b-c@sub.example.co", "Nguyễn@ví-dụ.vn"):
        assert is_email(text)
        assert msgspec.convert(text, Email) == text
    for text in ("ana", "ana@example", "a..b@example.org", "<ana@example.org>", "ana@-x.org", "a@b.c", ""):
        assert not is_email(text)
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(text, Email)
