"""Kill -9 at any moment: the ledger stays consistent. The server is SIGKILLed again and again while
certificates are issued and revoked concurrently; afterwards the file is intact, the audit passes, no
serial is doubled, no certificate lacks its event, and every answer a client received still holds."""

import asyncio
import os
import random
import sqlite3
import subprocess
import sys

import httpx

from service.settings import load_settings
from tests.support import ADMIN_TOKEN, LiveServer, Service, attendee

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ROUNDS = 6


async def _hammer(url: str, intake: str, date: str, emails: list[str], received: dict) -> None:
    """Issue and revoke concurrently until the server dies under us."""
    intake_headers = {"Authorization": f"Bearer {intake}"}
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:

        async def issue(email: str) -> None:
            answer = await client.post(
                "/api/v1/certificate-requests", json={"email": email, "date": date}, headers=intake_headers
            )
            if answer.status_code == 200 and answer.json()["outcome"] == "issued":
                certificate = answer.json()["certificate"]
                received["issued"].setdefault(certificate["serial"], certificate["verify_url"])

        async def revoke(serial: str) -> None:
            answer = await client.post(
                f"/api/v1/certificates/{serial}/revoke", json={"reason": "crash drill"}, headers=ADMIN
            )
            if answer.status_code == 200:
                received["revoked"].add(serial)

        while True:
            jobs = [issue(random.choice(emails)) for _ in range(8)]
            if received["issued"]:
                jobs += [revoke(random.choice(list(received["issued"]))) for _ in range(2)]
            results = await asyncio.gather(*jobs, return_exceptions=True)
            if any(isinstance(r, httpx.TransportError) for r in results):
                return


async def _round_with_a_kill(
    server: LiveServer, after: float, intake: str, date: str, emails: list[str], received: dict
) -> None:
    hammering = asyncio.create_task(_hammer(server.url, intake, date, emails, received))
    await asyncio.sleep(after)
    server.process.kill()  # SIGKILL: no shutdown, whatever transaction is under way
    server.process.wait()
    await hammering


def test_sigkill_during_issuance_and_revocation_loses_and_corrupts_nothing(env):
    random.seed(7)
    settings = load_settings(env)
    emails = [f"p{i}@example.org" for i in range(40)]
    received: dict = {"issued": {}, "revoked": set()}
    server = LiveServer(env)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        service = Service(http, settings)
        session = service.session()
        service.attendees(session["id"], [attendee(f"Person {i}", e) for i, e in enumerate(emails)])
    intake = service.intake.token
    server.stop()

    for round_number in range(ROUNDS):
        server = LiveServer(env)
        asyncio.run(
            _round_with_a_kill(server, 0.3 + 0.15 * round_number, intake, session["date"], emails, received)
        )

    assert len(received["issued"]) >= 10, "the drill issued too little to mean anything"
    assert len(received["revoked"]) >= 3, "the drill revoked too little to mean anything"
    with sqlite3.connect(settings.db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        current = db.execute(
            "SELECT session_id, email_key, COUNT(*) FROM certificates c"
            " WHERE NOT EXISTS (SELECT 1 FROM certificates n WHERE n.supersedes = c.serial)"
            " GROUP BY session_id, email_key HAVING COUNT(*) > 1"
        ).fetchall()
        assert current == []
        without_event = db.execute(
            "SELECT serial FROM certificates WHERE 'certificate:' || serial NOT IN"
            " (SELECT subject FROM events WHERE kind = 'certificate.issued')"
        ).fetchall()
        assert without_event == []
        stored = {row[0] for row in db.execute("SELECT serial FROM certificates")}
    assert set(received["issued"]) <= stored

    audited = subprocess.run(
        [sys.executable, "-m", "service", "audit"], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert audited.returncode == 0, audited.stderr

    server = LiveServer(env)
    try:
        for serial, url in received["issued"].items():
            path = url.removeprefix(env["CERTLEDGER_BASE_URL"])
            status = httpx.get(f"{server.url}{path}", headers={"Accept": "application/json"}).json()["status"]
            assert status in (("revoked",) if serial in received["revoked"] else ("valid", "revoked")), serial
    finally:
        server.stop()
