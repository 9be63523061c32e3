"""The real server under concurrent requests: one certificate per session and email, no locked database."""

import asyncio

import httpx

from tests.support import ADMIN_TOKEN, RECENT, LiveServer, attendee

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def _setup(client: httpx.AsyncClient, emails: list[str]) -> str:
    session = await client.post(
        "/api/v1/sessions",
        json={
            "date": RECENT.isoformat(),
            "duration_minutes": 90,
            "facilitators": ["Jane Doe"],
            "level": "central",
        },
    )
    session_id = session.json()["id"]
    listed = await client.put(
        f"/api/v1/sessions/{session_id}/attendees",
        json={"attendees": [attendee(f"Person {i}", email) for i, email in enumerate(emails)]},
    )
    assert listed.status_code == 200
    return session_id


def test_identical_concurrent_requests_make_one_certificate(live_server: LiveServer):
    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=live_server.url, headers=ADMIN, timeout=60) as client:
            await _setup(client, ["minh@example.org"])
            body = {"email": "minh@example.org", "date": RECENT.isoformat(), "facilitator": "Jane Doe"}
            return await asyncio.gather(
                *[client.post("/api/v1/certificate-requests", json=body) for _ in range(25)]
            )

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [200] * 25
    serials = {r.json()["certificate"]["serial"] for r in responses}
    assert len(serials) == 1
    lookup = httpx.get(
        f"{live_server.url}/api/v1/certificates", params={"email": "minh@example.org"}, headers=ADMIN
    )
    assert len(lookup.json()["certificates"]) == 1
    assert len(lookup.json()["requests"]) == 25
    assert ADMIN_TOKEN not in live_server.log()


def test_identical_message_ids_at_once_are_one_request(live_server: LiveServer):
    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=live_server.url, headers=ADMIN, timeout=60) as client:
            await _setup(client, ["kai@example.org"])
            body = {"email": "kai@example.org", "date": RECENT.isoformat(), "message_id": "<dup@mail>"}
            return await asyncio.gather(
                *[client.post("/api/v1/certificate-requests", json=body) for _ in range(20)]
            )

    responses = asyncio.run(run())
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["request_id"] for r in responses}) == 1


def test_many_different_writes_at_once_never_fail(live_server: LiveServer):
    emails = [f"person{i}@example.org" for i in range(40)]

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=live_server.url, headers=ADMIN, timeout=120) as client:
            session_id = await _setup(client, emails)
            requests = [
                client.post("/api/v1/certificate-requests", json={"email": e, "date": RECENT.isoformat()})
                for e in emails
            ]
            lists = [
                client.put(f"/api/v1/sessions/{session_id}/attendees", json={"attendees": [attendee("P", e)]})
                for e in emails[:5]
            ]
            sessions = [
                client.post(
                    "/api/v1/sessions",
                    json={
                        "date": RECENT.isoformat(),
                        "duration_minutes": 60,
                        "facilitators": [f"F {i}"],
                        "level": "hub",
                    },
                )
                for i in range(10)
            ]
            return await asyncio.gather(*requests, *lists, *sessions)

    responses = asyncio.run(run())
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses if r.status_code >= 500]
    issued = [r.json() for r in responses[:40] if r.json().get("outcome") == "issued"]
    assert len({c["certificate"]["serial"] for c in issued}) == len(issued)
    assert live_server.process.poll() is None


def test_two_server_processes_on_one_database_still_make_one_certificate(env):
    """Across processes only the write transaction's re-check and the unique indexes stand guard."""
    first, second = LiveServer(env), LiveServer(env)
    try:

        async def run() -> tuple[list[httpx.Response], list[httpx.Response]]:
            async with (
                httpx.AsyncClient(base_url=first.url, headers=ADMIN, timeout=120) as one,
                httpx.AsyncClient(base_url=second.url, headers=ADMIN, timeout=120) as two,
            ):
                await _setup(one, ["minh@example.org", *[f"p{i}@example.org" for i in range(10)]])
                body = {"email": "minh@example.org", "date": RECENT.isoformat(), "facilitator": "Jane Doe"}
                same = [
                    (one if i % 2 else two).post("/api/v1/certificate-requests", json=body) for i in range(30)
                ]
                clashing = [
                    (one if i % 2 else two).post(
                        "/api/v1/certificate-requests",
                        json={
                            "email": f"p{i}@example.org",
                            "date": RECENT.isoformat(),
                            "message_id": "<clash@mail>",
                        },
                    )
                    for i in range(10)
                ]
                return await asyncio.gather(*same), await asyncio.gather(*clashing)

        same, clashing = asyncio.run(run())
    finally:
        first.stop()
        second.stop()
    assert [r.status_code for r in same] == [200] * 30
    assert len({r.json()["certificate"]["serial"] for r in same}) == 1
    assert sorted(r.status_code for r in clashing) == [200] + [409] * 9


def test_two_workers_make_one_certificate_and_never_show_a_revoked_one_as_valid(env):
    """`certledger serve --workers 2`: requests land on either worker; each keeps its own verification
    answers, which must follow a revocation made through the other one at once."""
    server = LiveServer(env, "--workers", "2")
    try:

        async def run() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=server.url, headers=ADMIN, timeout=120) as client:
                await _setup(client, ["minh@example.org"])
                body = {"email": "minh@example.org", "date": RECENT.isoformat()}
                return await asyncio.gather(
                    *[client.post("/api/v1/certificate-requests", json=body) for _ in range(24)]
                )

        answers = asyncio.run(run())
        assert {r.status_code for r in answers} == {200}
        assert len({r.json()["certificate"]["serial"] for r in answers}) == 1
        certificate = answers[0].json()["certificate"]
        path = certificate["verify_url"].removeprefix(env["CERTLEDGER_BASE_URL"])
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for _ in range(20):  # warm both workers' answers
                assert client.get(path, headers={"Accept": "application/json"}).json()["status"] == "valid"
            revoked = client.post(
                f"/api/v1/certificates/{certificate['serial']}/revoke", json={"reason": "x"}, headers=ADMIN
            )
            assert revoked.status_code == 200
            statuses = {
                client.get(path, headers={"Accept": "application/json"}).json()["status"] for _ in range(20)
            }
        assert statuses == {"revoked"}
    finally:
        server.stop()
