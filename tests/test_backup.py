"""`certledger backup`: an online, consistent copy while requests run, and the restore drill: the copy,
started with the same keys, passes the audit and verifies every certificate it holds."""

import sqlite3
import threading
from pathlib import Path

import httpx

from service.settings import load_settings
from tests.support import LiveServer, Service, attendee, certledger


def test_backup_under_load_and_the_restore_drill(
    live_server: LiveServer, env: dict[str, str], tmp_path: Path
):
    emails = [f"person{i}@example.org" for i in range(60)]
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        service = Service(http, load_settings(env))
        session = service.session()
        service.attendees(session["id"], [attendee(f"Person {i}", e) for i, e in enumerate(emails)])
        for email in emails[:10]:
            service.ask(email=email)

        issued: list[str] = []

        def keep_issuing() -> None:
            token = {"Authorization": f"Bearer {service.intake.token}"}
            with httpx.Client(base_url=live_server.url, headers=token, timeout=60) as load:
                for email in emails[10:]:
                    answer = load.post(
                        "/api/v1/certificate-requests", json={"email": email, "date": session["date"]}
                    )
                    assert answer.status_code == 200, answer.text
                    issued.append(answer.json()["certificate"]["serial"])

        load = threading.Thread(target=keep_issuing)
        load.start()
        backups = [tmp_path / f"backup-{n}.sqlite3" for n in range(3)]
        for path in backups:
            made = certledger(env, "backup", str(path))
            assert made.returncode == 0, made.stderr
            assert "integrity checked" in made.stdout
        load.join()
        assert len(issued) == 50

    for path in backups:
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert not Path(f"{path}-wal").exists()

    latest = backups[-1]
    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    restored_db = restored_dir / "ledger.sqlite3"
    restored_db.write_bytes(latest.read_bytes())
    restored_env = {**env, "CERTLEDGER_DB": str(restored_db)}
    audited = certledger(restored_env, "audit")
    assert audited.returncode == 0, audited.stderr
    with sqlite3.connect(restored_db) as db:
        urls = [row[0] for row in db.execute("SELECT verify_url FROM certificates")]
    assert len(urls) >= 10
    restored = LiveServer(restored_env)
    try:
        for url in urls:
            path = url.removeprefix(env["CERTLEDGER_BASE_URL"])
            answer = httpx.get(f"{restored.url}{path}", headers={"Accept": "application/json"})
            assert answer.status_code == 200 and answer.json()["status"] == "valid", url
    finally:
        restored.stop()


def test_backup_never_overwrites_and_says_why(env: dict[str, str], tmp_path: Path):
    missing = certledger(env, "backup", str(tmp_path / "b.sqlite3"))
    assert missing.returncode == 1 and "no database" in missing.stderr
    made = certledger({**env}, "token", "list")  # creates the database
    assert made.returncode == 0
    target = tmp_path / "b.sqlite3"
    assert certledger(env, "backup", str(target)).returncode == 0
    again = certledger(env, "backup", str(target))
    assert again.returncode == 1 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr
