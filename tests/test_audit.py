"""`certledger audit`: a ledger edited behind the service's back is caught, at the first broken place.
The edits are made as an attacker holding the database file would make them: with the sqlite3 command
(dropping the append-only triggers first when they are in the way)."""

import json
import sqlite3
import subprocess

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.ledger.chain import GENESIS, canonical_json, event_hash
from service.settings import load_settings
from tests.support import Service, attendee, certledger, require_tool


def sqlite3_cli() -> str:
    return require_tool("sqlite3", "sqlite3")


@pytest.fixture
def ledger(env: dict[str, str]) -> dict:
    settings = load_settings(env)
    with TestClient(create_app(settings, render_processes=0)) as client:
        service = Service(client, settings)
        session = service.session()
        service.attendees(
            session["id"], [attendee("Minh Nguyen", "minh@example.org"), attendee("Kai", "kai@example.org")]
        )
        first = service.ask(email="minh@example.org")["certificate"]
        service.ask(email="kai@example.org")
        service.admin.post(f"/api/v1/certificates/{first['serial']}/revoke", json={"reason": "Wrong name"})
        service.attendees(
            session["id"], [attendee("Nguyễn Minh", "minh@example.org"), attendee("Kai", "kai@example.org")]
        )
        second = service.ask(email="minh@example.org")["certificate"]
    return {
        "env": env,
        "db": str(settings.db_path),
        "session": session["id"],
        "first": first,
        "second": second,
    }


def edit(ledger: dict, sql: str) -> None:
    done = subprocess.run([sqlite3_cli(), ledger["db"], sql], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def test_an_untouched_ledger_passes(ledger):
    passed = certledger(ledger["env"], "audit")
    assert passed.returncode == 0, passed.stderr
    assert "audit passed" in passed.stdout and "2 list versions" in passed.stdout


def test_an_edited_event_is_caught_there(ledger):
    edit(
        ledger,
        "DROP TRIGGER events_append_only_update;"
        "UPDATE events SET payload = replace(payload, 'Minh Nguyen', 'Mallory') WHERE kind = 'list.submitted' AND seq ="
        " (SELECT MIN(seq) FROM events WHERE kind = 'list.submitted');",
    )
    failed = certledger(ledger["env"], "audit")
    assert failed.returncode == 1
    assert "list.submitted" in failed.stderr and "hash does not match" in failed.stderr


def test_a_removed_event_is_caught(ledger):
    edit(
        ledger,
        "DROP TRIGGER events_append_only_delete; DELETE FROM events WHERE kind = 'certificate.revoked';",
    )
    failed = certledger(ledger["env"], "audit")
    assert failed.returncode == 1 and "chain is broken" in failed.stderr


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "UPDATE attendees SET name = 'Mallory' WHERE email = 'kai@example.org' AND version = 1",
            "row 2: name",
        ),
        (
            "UPDATE attendees SET email = 'mallory@example.org' WHERE email = 'kai@example.org' AND version = 2",
            "email",
        ),
        ("UPDATE certificates SET holder_name = 'Mallory' WHERE serial = '{second}'", "holder_name"),
        ("UPDATE certificates SET email = 'mallory@example.org' WHERE serial = '{second}'", "email"),
        (
            "UPDATE certificate_pdfs SET pdf = x'255044462d312e340a' WHERE serial = '{second}'",
            "stored PDF is not the one issued",
        ),
        (
            "UPDATE certificate_pdfs SET pdf = pdf || x'20' WHERE serial = '{second}'",
            "stored PDF is not the one issued",
        ),
        ("UPDATE revocations SET reason = 'Attended in full'", "reason"),
        ("DELETE FROM revocations", "revocation of"),
        ("UPDATE sessions SET duration_minutes = 240", "duration_minutes"),
        ("UPDATE certificate_requests SET reason = 'not_on_list', outcome = 'rejected'", "its decision"),
        (
            "INSERT INTO sessions (id, date, timezone, duration_minutes, facilitators, level, title, delivery, created_at)"
            " VALUES ('ses_forged', '2026-03-04', 'UTC', 90, '[\"X\"]', 'central', 'IPS Co-reflection', 'online', 'now')",
            "ses_forged has no event",
        ),
    ],
)
def test_a_stored_row_that_disagrees_with_its_event_is_caught(ledger, sql, expected):
    edit(ledger, sql.format(second=ledger["second"]["serial"]))
    failed = certledger(ledger["env"], "audit")
    assert failed.returncode == 1, failed.stdout
    assert expected in failed.stderr, failed.stderr
    assert failed.stderr.count("\n") == 1  # the first broken one, in one sentence


def test_the_wrong_ledger_key_fails_the_chain(ledger):
    failed = certledger({**ledger["env"], "CERTLEDGER_LEDGER_KEY": "a-guess"}, "audit")
    assert failed.returncode == 1 and "event 1" in failed.stderr


@pytest.mark.parametrize("rows", [5, [["only one field"]], ["not a row"]])
def test_a_list_event_rewritten_with_the_key_but_unreadable_is_reported_not_a_crash(ledger, rows):
    """Someone holding the ledger key can re-chain events; a list event whose rows cannot be read is
    then reported as the broken place, in a sentence, like any other."""
    key = load_settings(ledger["env"]).ledger_key.encode()
    with sqlite3.connect(ledger["db"]) as db:
        db.execute("DROP TRIGGER events_append_only_update")
        events = db.execute(
            "SELECT seq, at, actor, kind, subject, payload FROM events ORDER BY seq"
        ).fetchall()
        prev = GENESIS
        for seq, at, actor, kind, subject, payload in events:
            if kind == "list.submitted":
                body = json.loads(payload)
                body["rows"] = rows
                payload = canonical_json(body)
            digest = event_hash(key, prev, seq, at, actor, kind, subject, payload)
            db.execute(
                "UPDATE events SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (payload, prev, digest, seq),
            )
            prev = digest
    failed = certledger(ledger["env"], "audit")
    assert failed.returncode == 1, failed.stdout
    assert "its event's rows" in failed.stderr and "Traceback" not in failed.stderr, failed.stderr
