"""Several messages under way at once: the same replies, records and marks as one message at a time.

The intake reads ahead and has several requests at the service at once, but sends, records and marks
each message at its turn, in mailbox order. These tests run it against the live service with answers
that come back out of order, a message delivered twice, the API failing in the middle of a pass, and
the process killed at random moments.
"""

import email
import email.message
import email.policy
import mailbox
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Collection
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.intake.client import Api, ApiUnavailable
from service.intake.mailboxes import MaildirMailbox
from service.intake.message import POLICY
from service.intake.replies import Replies, Sender
from service.intake.run import IN_FLIGHT, Intake, PassReport
from service.intake.state import IntakeState
from service.intake.transport import outbox_transport
from service.settings import load_settings
from tests.intake_harness import DATA, attachments, by_request, replies_in, seed_world, state_of
from tests.intake_world import INTAKE_ADDRESS
from tests.support import ROOT, LiveServer, Service, attendee

# A session of its own, far from the world's March sessions, with a crowd of eligible attendees.
CROWD_DATE, CROWD_DAY = "2026-02-11", "11 February"
CROWD = 40


@pytest.fixture
def world(live_server: LiveServer, env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    token = seed_world(live_server, env)
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        service = Service(http, load_settings(env))
        created = service.session(date=CROWD_DATE, facilitators=["Jane Doe"])
        rows = [attendee(f"Crowd Person {n:02d}", f"crowd.{n:02d}@example.org") for n in range(CROWD)]
        service.attendees(created["id"], rows)
    return {"server": live_server, "token": token, "tmp": tmp_path}


def request(n: int) -> bytes:
    return (
        f"From: Crowd Person {n:02d} <crowd.{n:02d}@example.org>\r\nTo: {INTAKE_ADDRESS}\r\n"
        f"Subject: Certificate\r\nDate: Thu, 12 Feb 2026 10:{n:02d}:00 +0000\r\n"
        f"Message-ID: <crowd-{n:02d}@example.org>\r\n\r\n"
        f"Could I please have my certificate for the co-reflection on {CROWD_DAY} with Jane Doe?\r\n"
    ).encode()


def fill(maildir: Path, messages: list[bytes]) -> list[str]:
    """A Maildir whose keys sort in the order given (the order the intake takes them); the keys."""
    for folder in ("new", "cur", "tmp"):
        (maildir / folder).mkdir(parents=True, exist_ok=True)
    keys = [f"{n:04d}.test" for n in range(len(messages))]
    for key, raw in zip(keys, messages, strict=True):
        (maildir / "new" / key).write_bytes(raw)
    return keys


class Staggered(Api):
    """The real API, answering some requests late (so answers come back out of order) and failing
    others; it counts the requests asked for each Message-ID and how many were under way at once."""

    def __init__(
        self, url: str, token: str, *, late: Collection[str] = (), down: Collection[str] = ()
    ) -> None:
        super().__init__(url, token)
        self.late, self.down = late, down
        self.asked: Counter[str] = Counter()
        self.at_once = self.most_at_once = 0
        self._lock = threading.Lock()

    def request_certificate(self, **fields: Any) -> dict[str, Any]:
        with self._lock:
            self.asked[fields["message_id"]] += 1
            self.at_once += 1
            self.most_at_once = max(self.most_at_once, self.at_once)
        try:
            if fields["message_id"] in self.late:
                time.sleep(0.3)
            if fields["message_id"] in self.down:
                raise ApiUnavailable("the service is down for this one")
            return super().request_certificate(**fields)
        finally:
            with self._lock:
                self.at_once -= 1


def run_pass(world: dict, name: str, api: Api, in_flight: int = IN_FLIGHT) -> PassReport:
    folder = world["tmp"] / name
    state = IntakeState(folder / "state.sqlite3")
    try:
        with state.exclusive():
            return Intake(
                api=api,
                mailbox=MaildirMailbox(folder / "inbox"),
                transport=outbox_transport(folder / "outbox"),
                state=state,
                replies=Replies(Sender(address=INTAKE_ADDRESS, issuer="IPS Central")),
                own_addresses=frozenset({INTAKE_ADDRESS}),
                in_flight=in_flight,
            ).run_once()
    finally:
        state.close()
        api.close()


def written(outbox: Path) -> list[bytes]:
    """The replies in the order they were written (mailbox.Maildir numbers its files: the Q part),
    with what differs between any two runs (the Date header, MIME boundaries) blanked."""
    paths = sorted((outbox / "new").iterdir(), key=_written_at)
    found = []
    for path in paths:
        raw = re.sub(rb"\r\nDate: [^\r]*", b"\r\nDate: -", path.read_bytes())
        for boundary in set(re.findall(rb'boundary="([^"]+)"', raw)):
            raw = raw.replace(boundary, b"-")
        found.append(raw)
    return found


def _written_at(path: Path) -> int:
    number = re.search(r"Q(\d+)", path.name)
    assert number is not None, path.name
    return int(number[1])


def records(state_path: Path) -> dict[str, list[tuple]]:
    """What the state file holds, read by another connection (so: committed), in the order written."""
    with sqlite3.connect(state_path) as db:
        return {
            "handled": db.execute(
                "SELECT message_id, outcome, marked FROM handled ORDER BY rowid"
            ).fetchall(),
            "explained": db.execute("SELECT sender, kind FROM explained ORDER BY rowid").fetchall(),
            "threads": db.execute("SELECT * FROM threads ORDER BY request_id").fetchall(),
        }


def test_several_at_once_does_exactly_what_one_at_a_time_does(world):
    corpus = [p.read_bytes() for p in sorted((DATA / "corpus").glob("*.eml"))]
    samples = [p.read_bytes() for p in sorted((DATA / "samples").glob("*.eml"))]
    crowd = [request(n) for n in range(12)]
    # Mixed through each other; one request delivered twice in a row, another twice further apart;
    # the same unanswerable request from one stranger three times (explained once a day).
    stranger = [
        (
            f"From: Stranger <stranger@example.org>\r\nTo: {INTAKE_ADDRESS}\r\nSubject: certificate\r\n"
            f"Date: Mon, 16 Mar 2026 09:0{n}:00 +0000\r\nMessage-ID: <stranger-{n}@example.org>\r\n\r\n"
            "Please send my certificate for the co-reflection on 4 March with Jane Doe.\r\n"
        ).encode()
        for n in range(3)
    ]
    messages = [crowd[0], crowd[0], *stranger, *crowd[1:6], *corpus, crowd[3], *samples, *crowd[6:]]
    late = {"<crowd-00@example.org>", "<crowd-02@example.org>", "<stranger-0@example.org>"}
    keys = {}
    for name in ("one", "several"):
        keys[name] = fill(world["tmp"] / name / "inbox", messages)
    one_api = Staggered(world["server"].url, world["token"], late=late)
    one = run_pass(world, "one", one_api, in_flight=1)
    several_api = Staggered(world["server"].url, world["token"], late=late)
    several = run_pass(world, "several", several_api)

    assert several_api.most_at_once > 1, "requests were asked one after another"
    assert one_api.most_at_once == 1
    assert several == one and one.retry == 0 and one.answered > 30
    assert written(world["tmp"] / "several" / "outbox") == written(world["tmp"] / "one" / "outbox")
    assert records(world["tmp"] / "several" / "state.sqlite3") == records(
        world["tmp"] / "one" / "state.sqlite3"
    )
    assert state_of(world["tmp"] / "several" / "inbox") == state_of(world["tmp"] / "one" / "inbox")
    # The twice-delivered request: asked once, answered once; the copy is left as it was.
    assert several_api.asked == one_api.asked
    assert several_api.asked["<crowd-00@example.org>"] == several_api.asked["<crowd-03@example.org>"] == 1
    replies = by_request(replies_in(world["tmp"] / "several" / "outbox"))
    assert len(replies["<crowd-00@example.org>"]) == len(replies["<crowd-03@example.org>"]) == 1
    assert len(replies["<stranger-0@example.org>"]) == 1 and "<stranger-1@example.org>" not in replies
    where = state_of(world["tmp"] / "several" / "inbox")
    assert [where[k] for k in keys["several"][:2]] == ["cur:S", "new"]
    # Every record committed by the end of the pass, marks included.
    handled = records(world["tmp"] / "several" / "state.sqlite3")["handled"]
    assert all(marked for _, outcome, marked in handled if outcome in ("answered", "automatic"))


def test_when_the_api_fails_mid_pass_the_messages_after_it_wait_untouched(world):
    inbox = world["tmp"] / "pass" / "inbox"
    keys = fill(inbox, [request(n) for n in range(12)])
    api = Staggered(world["server"].url, world["token"], down={"<crowd-05@example.org>"})
    report = run_pass(world, "pass", api)
    assert report.retry == 1 and report.answered == 5
    assert max(n for n in range(12) if api.asked[f"<crowd-{n:02d}@example.org>"]) > 5, (
        "nothing was read ahead"
    )
    outbox = world["tmp"] / "pass" / "outbox"
    assert sorted(by_request(replies_in(outbox))) == [f"<crowd-{n:02d}@example.org>" for n in range(5)]
    where = state_of(inbox)
    assert [where[k] for k in keys] == ["cur:S"] * 5 + ["new"] * 7
    assert [row[0] for row in records(world["tmp"] / "pass" / "state.sqlite3")["handled"]] == [
        f"<crowd-{n:02d}@example.org>" for n in range(5)
    ]

    # The next run answers the rest, each once: the requests asked ahead are the same requests.
    again = run_pass(world, "pass", Api(world["server"].url, world["token"]))
    assert again.retry == 0 and again.answered == 7
    replies = by_request(replies_in(outbox))
    assert sorted(replies) == [f"<crowd-{n:02d}@example.org>" for n in range(12)]
    assert all(len(r) == 1 for r in replies.values())
    assert set(state_of(inbox).values()) == {"cur:S"}


def _intake_process(world: dict, maildir: Path, outbox: Path, state: Path) -> subprocess.Popen[str]:
    command = [
        sys.executable, str(ROOT / "scripts" / "intake.py"), "--api", world["server"].url,
        "--token", world["token"], "--maildir", str(maildir), "--outbox", str(outbox),
        "--from", INTAKE_ADDRESS, "--state", str(state), "--once",
    ]  # fmt: skip
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True)


def _replies_written(outbox: Path) -> int:
    return len(os.listdir(outbox / "new")) if (outbox / "new").is_dir() else 0


def test_killed_at_any_moment_no_request_goes_unanswered_and_at_most_one_reply_repeats(world):
    maildir, outbox, state = world["tmp"] / "inbox", world["tmp"] / "outbox", world["tmp"] / "state.sqlite3"
    box = mailbox.Maildir(maildir, create=True)
    for n in range(CROWD):
        box.add(mailbox.MaildirMessage(request(n)))
    kills = 0
    for stop_after in (3, 12, 25):
        process = _intake_process(world, maildir, outbox, state)
        deadline = time.monotonic() + 60
        while (
            _replies_written(outbox) < stop_after and process.poll() is None and time.monotonic() < deadline
        ):
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        kills += process.returncode == -signal.SIGKILL
    assert kills >= 2, "the intake finished before it could be killed"
    last = _intake_process(world, maildir, outbox, state)
    _, stderr = last.communicate(timeout=120)
    assert last.returncode == 0, stderr

    replies = by_request(replies_in(outbox))
    assert sorted(replies) == [f"<crowd-{n:02d}@example.org>" for n in range(CROWD)]
    # At most one message is ever between its reply and its record: one repeat per kill at most,
    # recognisable as the same email (the same Message-ID, the same certificate).
    assert sum(len(r) for r in replies.values()) <= CROWD + kills
    for copies in replies.values():
        assert len({str(c["Message-ID"]) for c in copies}) == 1
        assert all(attachments(c) == attachments(copies[0]) for c in copies)
    assert set(state_of(maildir).values()) == {"cur:S"}
    # And a run after it all sends nothing.
    shutil.copytree(outbox, world["tmp"] / "before")
    done = _intake_process(world, maildir, outbox, state)
    _, stderr = done.communicate(timeout=120)
    assert done.returncode == 0, stderr
    assert _replies_written(outbox) == _replies_written(world["tmp"] / "before")


def test_the_faster_policy_reads_every_message_as_the_standard_one_does():
    for path in sorted(DATA.glob("*/*.eml")):
        raw = path.read_bytes()
        ours = email.message_from_bytes(raw, policy=POLICY)
        standard = email.message_from_bytes(raw, policy=email.policy.default)
        for message in (ours, standard):
            assert type(message) is email.message.EmailMessage
        assert _headers(ours) == _headers(standard), path.name
        assert _flat(ours) == _flat(standard), path.name


def _headers(message: email.message.Message) -> list[tuple[str, list[tuple[str, str]] | str]]:
    found: list[tuple[str, list[tuple[str, str]] | str]] = []
    for name in dict.fromkeys(message):
        try:
            values = message.get_all(name) or []
            found.append((name, [(type(v).__mro__[1].__name__, str(v)) for v in values]))
        except Exception as exc:  # cpython #105802 and kin: the same failure both ways
            found.append((name, type(exc).__name__))
    return found


def _flat(message: email.message.Message) -> bytes | str:
    try:
        return message.as_bytes()
    except Exception as exc:
        return type(exc).__name__
