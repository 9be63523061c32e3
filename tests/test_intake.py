"""The email intake end to end: a Maildir of real messages, the live service, replies in an outbox."""

import fcntl
import mailbox
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.intake_harness import (
    DATA,
    attachments,
    by_request,
    deliver,
    plain_text,
    replies_in,
    run_intake,
    seed_world,
    state_of,
)
from tests.intake_world import INTAKE_ADDRESS
from tests.pdf_tools import pdf_text
from tests.support import ROOT, LiveServer

SAMPLES = DATA / "samples"


@pytest.fixture
def world(live_server: LiveServer, env: dict[str, str], tmp_path: Path) -> dict:
    token = seed_world(live_server, env)
    return {
        "server": live_server,
        "token": token,
        "maildir": tmp_path / "inbox",
        "outbox": tmp_path / "outbox",
        "state": tmp_path / "intake-state.sqlite3",
    }


def run(world: dict, *extra: str, api: str | None = None):
    server = world["server"]
    if api is not None:
        server = type("Elsewhere", (), {"url": api})()
    return run_intake(server, world["token"], world["maildir"], world["outbox"], world["state"], *extra)


def deliver_sample(world: dict, name: str) -> str:
    return deliver(world["maildir"], (SAMPLES / name).read_bytes())


def test_the_samples_get_what_a_user_expects(world):
    keys = {
        name: deliver_sample(world, f"{name}.eml")
        for name in ("01-plain-request", "02-html-only", "03-out-of-office", "04-quoted-reply")
    }
    done = run(world)
    assert done.returncode == 0, done.stderr
    replies = by_request(replies_in(world["outbox"]))
    assert set(replies) == {
        "<CAF1aroha0001@mail.example.nz>",
        "<0102018e-miguel@email.example.com>",
        "<kai-2@example.de>",
    }

    (aroha,) = replies["<CAF1aroha0001@mail.example.nz>"]
    assert aroha["To"] == "aroha@example.nz"
    assert aroha["From"].addresses[0].addr_spec == INTAKE_ADDRESS
    assert aroha["Auto-Submitted"] == "auto-replied"
    assert aroha["X-Auto-Response-Suppress"] == "All"
    assert "<CAF1aroha0001@mail.example.nz>" in aroha["References"]
    assert aroha["Message-ID"].endswith("@ipscentral.test>")
    ((name, pdf),) = attachments(aroha).items()
    assert name.startswith("certificate-CL-") and name.endswith(".pdf") and pdf.startswith(b"%PDF")
    text = plain_text(aroha)
    assert "Aroha Ngata" in text and "if it is wrong, reply with the correction" in text.lower()
    assert "/v/" in text and "Aroha Ngata" in pdf_text(pdf)
    assert aroha.get_body(preferencelist=("html",)) is not None

    (miguel,) = replies["<0102018e-miguel@email.example.com>"]
    assert miguel["To"] == "miguel.torres@example.com"
    assert "Miguel Ángel Torres" in pdf_text(next(iter(attachments(miguel).values())))

    (kai,) = replies["<kai-2@example.de>"]
    assert attachments(kai) == {}
    assert "full participation" in plain_text(kai)

    where = state_of(world["maildir"])
    assert all(where[keys[n]] == "cur:S" for n in ("01-plain-request", "02-html-only", "04-quoted-reply"))
    assert where[keys["03-out-of-office"]] == "cur:S"
    assert "Kia ora" not in done.stderr and world["token"] not in done.stderr
    assert sum("<kai-2@example.de>" in line for line in done.stderr.splitlines()) == 1


def test_a_second_run_sends_nothing_new(world):
    deliver_sample(world, "01-plain-request.eml")
    assert run(world).returncode == 0
    first = replies_in(world["outbox"])
    assert run(world).returncode == 0
    assert len(replies_in(world["outbox"])) == len(first) == 1


def test_a_message_that_is_not_a_request_is_left_as_it_was(world):
    raw = (
        b"From: Ana Souza <ana.souza@example.br>\r\nTo: info@ipscentral.test\r\n"
        b"Subject: Next co-reflection?\r\nDate: Mon, 16 Mar 2026 09:00:00 -0300\r\n"
        b"Message-ID: <question-1@example.br>\r\n\r\n"
        b"Hi! When is the next co-reflection with Jane Doe? The one on 4 March was wonderful.\r\n"
    )
    key = deliver(world["maildir"], raw)
    for _ in range(2):
        assert run(world).returncode == 0
        assert replies_in(world["outbox"]) == []
        assert state_of(world["maildir"])[key] == "new"


def test_an_unreachable_api_leaves_everything_for_the_next_run(world):
    key = deliver_sample(world, "01-plain-request.eml")
    down = run(world, api="http://127.0.0.1:9")
    assert down.returncode == 1
    assert "Traceback" not in down.stderr
    assert replies_in(world["outbox"]) == []
    assert state_of(world["maildir"])[key] == "new"
    assert run(world).returncode == 0
    assert len(replies_in(world["outbox"])) == 1
    assert state_of(world["maildir"])[key] == "cur:S"


def test_a_lost_record_repeats_one_reply_with_the_same_message_id(world):
    deliver_sample(world, "01-plain-request.eml")
    assert run(world).returncode == 0
    # As if the intake died after sending, before remembering: state gone, message still new.
    world["state"].unlink()
    for path in (world["maildir"] / "cur").iterdir():
        shutil.move(path, world["maildir"] / "new" / path.name.partition(":")[0])
    assert run(world).returncode == 0
    first, again = replies_in(world["outbox"])
    assert first["Message-ID"] == again["Message-ID"]
    assert attachments(first) == attachments(again)


def test_a_pending_request_gets_its_certificate_once_the_list_arrives(world, env):
    raw = (
        b"From: Yuki Tanaka <yuki.tanaka@example.jp>\r\nTo: info@ipscentral.test\r\n"
        b"Subject: Certificate please\r\nDate: Tue, 10 Mar 2026 08:00:00 +0900\r\n"
        b"Message-ID: <yuki-pending@example.jp>\r\n\r\n"
        b"Could I please have a certificate for the co-reflection with Jane Doe on 9 March?\r\n"
    )
    deliver(world["maildir"], raw)
    assert run(world).returncode == 0
    (first,) = replies_in(world["outbox"])
    assert attachments(first) == {} and "automatically" in plain_text(first)

    import httpx

    from tests.support import ADMIN_TOKEN

    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    sessions = httpx.get(
        f"{world['server'].url}/api/v1/sessions", params={"date": "2026-03-09"}, headers=admin
    ).json()
    httpx.put(
        f"{world['server'].url}/api/v1/sessions/{sessions['sessions'][0]['id']}/attendees",
        json={
            "attendees": [
                {
                    "name": "Yuki Tanaka",
                    "email": "yuki.tanaka@example.jp",
                    "core_trained": True,
                    "full_participation": True,
                }
            ]
        },
        headers=admin,
    ).raise_for_status()

    assert run(world).returncode == 0
    # Maildir file names do not sort by time: tell the replies apart by what they say.
    (follow_up,) = [
        r for r in replies_in(world["outbox"]) if str(r["X-Certledger-Reply"]).startswith("follow-up:")
    ]
    assert follow_up["In-Reply-To"] == "<yuki-pending@example.jp>"
    assert "Yuki Tanaka" in pdf_text(next(iter(attachments(follow_up).values())))
    assert run(world).returncode == 0
    assert len(replies_in(world["outbox"])) == 2


def test_the_same_unanswerable_request_is_explained_once_a_day(world):
    for n in range(3):
        raw = (
            f"From: Stranger <stranger@example.org>\r\nTo: info@ipscentral.test\r\n"
            f"Subject: certificate\r\nDate: Mon, 16 Mar 2026 09:0{n}:00 +0000\r\n"
            f"Message-ID: <again-{n}@example.org>\r\n\r\n"
            f"Please send my certificate for the co-reflection on 4 March with Jane Doe.\r\n"
        ).encode()
        deliver(world["maildir"], raw)
        assert run(world).returncode == 0
    (only,) = replies_in(world["outbox"])
    assert "not on the attendee list" in plain_text(only)


def test_certificates_go_to_the_list_address_never_to_reply_to(world):
    raw = (
        b"From: Aroha Ngata <aroha@example.nz>\r\nReply-To: someone.else@example.com\r\n"
        b"To: info@ipscentral.test\r\nSubject: Certificate\r\nDate: Thu, 05 Mar 2026 19:12:44 +1300\r\n"
        b"Message-ID: <reply-to-test@example.nz>\r\n\r\n"
        b"Please send my certificate for 4 March with Jane Doe.\r\n"
    )
    deliver(world["maildir"], raw)
    assert run(world).returncode == 0
    (reply,) = replies_in(world["outbox"])
    assert reply["To"] == "aroha@example.nz"


def test_polling_answers_new_mail_and_stops_cleanly_on_sigterm(world):
    command = [
        sys.executable, str(ROOT / "scripts" / "intake.py"), "--api", world["server"].url, "--token", world["token"],
        "--maildir", str(world["maildir"]), "--outbox", str(world["outbox"]), "--from", INTAKE_ADDRESS,
        "--state", str(world["state"]), "--interval", "0.2",
    ]  # fmt: skip
    mailbox.Maildir(world["maildir"], create=True)
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1)
        deliver_sample(world, "01-plain-request.eml")
        deadline = time.monotonic() + 30
        while not replies_in(world["outbox"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(replies_in(world["outbox"])) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_hostile_messages_never_stop_the_others(world):
    for path in sorted((DATA / "hostile").glob("*.eml")):
        deliver(world["maildir"], path.read_bytes())
    good = deliver_sample(world, "01-plain-request.eml")
    done = run(world)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert state_of(world["maildir"])[good] == "cur:S"
    assert "<CAF1aroha0001@mail.example.nz>" in by_request(replies_in(world["outbox"]))


def test_a_wrong_token_loses_nothing(world):
    key = deliver_sample(world, "01-plain-request.eml")
    wrong = run_intake(world["server"], "cl_not-a-token", world["maildir"], world["outbox"], world["state"])
    assert wrong.returncode == 1 and "token" in wrong.stderr
    assert state_of(world["maildir"])[key] == "new" and replies_in(world["outbox"]) == []
    assert run(world).returncode == 0
    assert len(replies_in(world["outbox"])) == 1


def test_a_reply_to_our_certificate_email_goes_to_staff(world):
    deliver_sample(world, "01-plain-request.eml")
    assert run(world).returncode == 0
    (certificate,) = replies_in(world["outbox"])
    thanks = (
        "From: Aroha Ngata <aroha@example.nz>\r\nTo: info@ipscentral.test\r\n"
        f"Subject: Re: Certificate for co-reflection\r\nDate: Fri, 06 Mar 2026 10:00:00 +1300\r\n"
        f"Message-ID: <aroha-thanks@example.nz>\r\nIn-Reply-To: {certificate['Message-ID']}\r\n"
        f"References: <CAF1aroha0001@mail.example.nz> {certificate['Message-ID']}\r\n\r\n"
        "Got it, thank you! Could you spell my name Aroha Ngata-Smith please? It's for the 4 March one.\r\n"
    ).encode()
    key = deliver(world["maildir"], thanks)
    assert run(world).returncode == 0
    assert len(replies_in(world["outbox"])) == 1
    assert state_of(world["maildir"])[key] == "new"


def test_different_requests_from_one_sender_are_each_explained(world):
    for n, (day, facilitator) in enumerate([("4 March", "Jane Doe"), ("25 March", "Jane Smith")]):
        raw = (
            f"From: Pat Stranger <pat@example.org>\r\nTo: info@ipscentral.test\r\nSubject: Certificate\r\n"
            f"Date: Thu, 26 Mar 2026 09:0{n}:00 -0400\r\nMessage-ID: <pat-{n}@example.org>\r\n\r\n"
            f"Could I please have my certificate for the co-reflection on {day} with {facilitator}?\r\n"
        ).encode()
        deliver(world["maildir"], raw)
    assert run(world).returncode == 0
    assert set(by_request(replies_in(world["outbox"]))) == {"<pat-0@example.org>", "<pat-1@example.org>"}


def test_the_state_lives_with_the_maildir_and_one_intake_works_it_at_a_time(world):
    deliver_sample(world, "01-plain-request.eml")
    without_state = [
        sys.executable, str(ROOT / "scripts" / "intake.py"), "--api", world["server"].url, "--token",
        world["token"], "--maildir", str(world["maildir"]), "--outbox", str(world["outbox"]),
        "--from", INTAKE_ADDRESS, "--once",
    ]  # fmt: skip
    elsewhere = world["maildir"].parent / "elsewhere"
    elsewhere.mkdir()
    for _ in range(2):
        done = subprocess.run(without_state, cwd=elsewhere, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert len(replies_in(world["outbox"])) == 1
    state = world["maildir"] / ".certledger-intake.sqlite3"
    assert state.exists()
    lock = os.open(f"{state}.lock", os.O_RDWR)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        busy = subprocess.run(without_state, cwd=elsewhere, capture_output=True, text=True, timeout=120)
    finally:
        os.close(lock)
    assert busy.returncode == 1 and "another intake" in busy.stderr
