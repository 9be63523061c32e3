"""The certledger command: tokens, revocation, help, and plain-sentence errors."""

from litestar.testing import TestClient

from service.app import create_app
from service.settings import load_settings
from tests.support import RECENT, Caller, Service, attendee, certledger


def test_token_create_prints_it_once_and_stores_only_a_hash(env):
    created = certledger(
        env, "token", "create", "--role", "facilitator", "--name", "Jane Doe", "--level", "central"
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("cl_") and len(token) > 30
    assert "shown only now" in created.stderr

    listing = certledger(env, "token", "list")
    assert listing.returncode == 0
    assert "Jane Doe" in listing.stdout and "facilitator" in listing.stdout and "central" in listing.stdout
    assert token not in listing.stdout
    with open(env["CERTLEDGER_DB"], "rb") as db:
        assert token.encode() not in db.read()

    settings = load_settings(env)
    with TestClient(create_app(settings, render_processes=0)) as client:
        jane = Caller(client, token)
        body = {
            "date": RECENT.isoformat(),
            "duration_minutes": 90,
            "facilitators": ["Jane Doe"],
            "level": "central",
        }
        assert jane.post("/api/v1/sessions", json=body).status_code == 201

    token_id = next(line.split()[0] for line in listing.stdout.splitlines() if "Jane Doe" in line)
    assert certledger(env, "token", "revoke", token_id).returncode == 0
    with TestClient(create_app(settings, render_processes=0)) as client:
        assert Caller(client, token).get("/api/v1/sessions").status_code == 401
    assert certledger(env, "token", "revoke", token_id).returncode == 1


def test_facilitator_tokens_default_to_hub_only(env):
    token = certledger(env, "token", "create", "--role", "facilitator", "--name", "Hana").stdout.strip()
    settings = load_settings(env)
    with TestClient(create_app(settings, render_processes=0)) as client:
        hana = Caller(client, token)
        body = {
            "date": RECENT.isoformat(),
            "duration_minutes": 90,
            "facilitators": ["Hana"],
            "level": "central",
        }
        assert hana.post("/api/v1/sessions", json=body).status_code == 403
        assert hana.post("/api/v1/sessions", json={**body, "level": "hub"}).status_code == 201


def test_revoke_command(env):
    settings = load_settings(env)
    with TestClient(create_app(settings, render_processes=0)) as client:
        service = Service(client, settings)
        session = service.session()
        service.attendees(session["id"], [attendee("Minh", "minh@example.org")])
        certificate = service.ask(email="minh@example.org")["certificate"]

    done = certledger(env, "revoke", certificate["serial"], "--reason", "Issued in error")
    assert done.returncode == 0, done.stderr
    assert certledger(env, "revoke", certificate["serial"], "--reason", "again").returncode == 0
    missing = certledger(env, "revoke", "CL-NOPE", "--reason", "x")
    assert (
        missing.returncode == 1 and "no certificate" in missing.stderr and "Traceback" not in missing.stderr
    )

    with TestClient(create_app(settings, render_processes=0)) as client:
        body = Service(client, settings).verify(certificate["verify_url"]).json()
    assert body["status"] == "revoked" and body["revocation_reason"] == "Issued in error"


def test_every_command_has_help_and_bad_input_is_a_sentence(env):
    for command in (["--help"], ["serve", "--help"], ["token", "create", "--help"], ["revoke", "--help"]):
        shown = certledger(env, *command)
        assert shown.returncode == 0 and "usage:" in shown.stdout
    wrong_role = certledger(env, "token", "create", "--role", "superuser", "--name", "x")
    assert wrong_role.returncode == 2 and "invalid choice" in wrong_role.stderr
    bad_zone = certledger({**env, "CERTLEDGER_TIMEZONE": "Nowhere/Land"}, "token", "list")
    assert bad_zone.returncode == 2
    assert "CERTLEDGER_TIMEZONE" in bad_zone.stderr and "Traceback" not in bad_zone.stderr


def test_keys_are_generated_once_beside_the_database(tmp_path):
    env = {"CERTLEDGER_DB": str(tmp_path / "db" / "ledger.sqlite3")}
    first = certledger(env, "token", "list")
    assert first.returncode == 0
    assert "production should set" in first.stderr.lower()
    key_file = tmp_path / "db" / "ledger.sqlite3.keys.json"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    before = key_file.read_text()
    certledger(env, "token", "list")
    assert key_file.read_text() == before
