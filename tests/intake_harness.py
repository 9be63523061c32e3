"""Running the email intake for real in tests: the live service seeded with tests/intake_world.py,
a Maildir to read from, an outbox Maildir to read the replies back."""

import email
import email.policy
import mailbox
import os
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import httpx

from service.settings import load_settings
from tests.intake_world import INTAKE_ADDRESS, SESSIONS
from tests.support import ROOT, LiveServer, Service, make_token

DATA = Path(__file__).parent / "data" / "intake"


def seed_world(server: LiveServer, env: dict[str, str]) -> str:
    """Register the world's sessions and lists; returns an intake token."""
    settings = load_settings(env)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        service = Service(http, settings)
        for session, rows in SESSIONS:
            created = service.session(**session)
            if rows is not None:
                service.attendees(created["id"], rows)
    return make_token(settings, "intake", "mail intake")


def deliver(maildir: Path, raw: bytes) -> str:
    """Put a message into the Maildir's new/ the way a mail server would; returns its key."""
    box = mailbox.Maildir(maildir, create=True)
    return box.add(mailbox.MaildirMessage(raw))


def run_intake(
    server: LiveServer,
    token: str,
    maildir: Path,
    outbox: Path,
    state: Path,
    *extra: str,
    env: dict | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "intake.py"),
            "--api",
            server.url,
            "--token",
            token,
            "--maildir",
            str(maildir),
            "--outbox",
            str(outbox),
            "--from",
            INTAKE_ADDRESS,
            "--state",
            str(state),
            "--once",
            *extra,
        ],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def replies_in(outbox: Path) -> list[EmailMessage]:
    """Every reply the intake wrote, parsed back as a receiving mail server would."""
    if not (outbox / "new").is_dir():
        return []
    found = []
    for path in sorted((outbox / "new").iterdir()):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def by_request(replies: list[EmailMessage]) -> dict[str, list[EmailMessage]]:
    """Replies keyed by the Message-ID they answer."""
    keyed: dict[str, list[EmailMessage]] = {}
    for reply in replies:
        keyed.setdefault(str(reply["In-Reply-To"]), []).append(reply)
    return keyed


def attachments(reply: EmailMessage) -> dict[str, bytes]:
    return {
        part.get_filename() or "": part.get_content()
        for part in reply.iter_attachments()
        if isinstance(part, EmailMessage)
    }


def plain_text(reply: EmailMessage) -> str:
    body = reply.get_body(preferencelist=("plain",))
    assert body is not None
    return body.get_content()


def state_of(maildir: Path) -> dict[str, str]:
    """Each message's Maildir key → where it is: "new" (untouched) or "cur:<flags>"."""
    where = {}
    for folder in ("new", "cur"):
        for path in (maildir / folder).iterdir():
            key, _, flags = path.name.partition(":2,")
            where[key] = "new" if folder == "new" else f"cur:{flags}"
    return where
