"""A full disk (or any write failure): writes answer 503 problem details, reads keep working, and
nothing is half-written. The disk is "filled" with PRAGMA max_page_count (CI runs as root, so file
permissions would not stop a write)."""

import sqlite3

from litestar.testing import TestClient

from service.app import create_app
from service.ledger.audit import audit
from service.settings import load_settings
from tests.support import Service, attendee


def test_writes_refused_with_503_reads_keep_working_nothing_half_written(env):
    settings = load_settings(env)
    with TestClient(create_app(settings, render_processes=0)) as client:
        service = Service(client, settings)
        session = service.session()
        service.attendees(session["id"], [attendee("Minh", "minh@example.org")])
        certificate = service.ask(email="minh@example.org")["certificate"]
    with sqlite3.connect(settings.db_path) as db:
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        before = _counts(db)

    capped = load_settings({**env, "CERTLEDGER_MAX_PAGE_COUNT": str(pages + 1)})
    with TestClient(create_app(capped, render_processes=0)) as client:
        service = Service(client, capped)
        big = [attendee(f"Person {i} " + "x" * 150, f"p{i}@example.org") for i in range(400)]
        refused = service.admin.put(f"/api/v1/sessions/{session['id']}/attendees", json={"attendees": big})
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["retry-after"]) > 0
        assert "nothing was changed" in refused.json()["detail"]

        assert service.admin.get(f"/api/v1/sessions/{session['id']}").status_code == 200
        assert service.verify(certificate["verify_url"]).json()["status"] == "valid"
        assert service.intake.get(certificate["pdf_url"]).status_code == 200
        listed = service.admin.get(f"/api/v1/sessions/{session['id']}/attendees").json()
        assert listed["version"] == 1 and len(listed["attendees"]) == 1

    with sqlite3.connect(settings.db_path) as db:
        after = _counts(db)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert after == before
    assert list(audit(settings.db_path, settings.ledger_key)) == []


def _counts(db: sqlite3.Connection) -> dict[str, int]:
    """What a list submission writes (a new caller's token is the only other change in between)."""
    counts = {
        table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        for table in ("list_versions", "attendees", "certificates")
    }
    counts["events"] = db.execute("SELECT COUNT(*) FROM events WHERE kind <> 'token.created'").fetchone()[0]
    return counts
