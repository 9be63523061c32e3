"""scripts/intake.py against real mail servers: dovecot (IMAP) and aiosmtpd (SMTP) on 127.0.0.1, with
passwords and with XOAUTH2 (a token command; dovecot's oauth2 passdb asking a local introspection
endpoint; an SMTP server checking the bearer token)."""

import email
import email.policy
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import mailservers
from tests.intake_harness import DATA, seed_world
from tests.intake_world import INTAKE_ADDRESS
from tests.support import ROOT, LiveServer

PASSWORD = "correct horse battery staple"
TOKEN = "ya29.intake-access-token"
SAMPLES = DATA / "samples"
QUESTION = (
    b"From: Ana Souza <ana.souza@example.br>\r\nTo: info@ipscentral.test\r\nSubject: Next session?\r\n"
    b"Date: Mon, 16 Mar 2026 09:00:00 -0300\r\nMessage-ID: <question-imap@example.br>\r\n\r\n"
    b"When is the next co-reflection with Jane Doe?\r\n"
)


@pytest.fixture(scope="module")
def tls() -> Iterator[mailservers.Certificates]:
    with mailservers.certificates() as certificates:
        yield certificates


@pytest.fixture(scope="module")
def imap(tls: mailservers.Certificates) -> Iterator[mailservers.Dovecot]:
    mailservers.require_dovecot()
    with (
        mailservers.token_introspection({TOKEN: INTAKE_ADDRESS}) as introspection,
        mailservers.dovecot({INTAKE_ADDRESS: PASSWORD}, tls=tls, introspection=introspection) as server,
    ):
        yield server


def token_command(directory: Path) -> str:
    script = directory / "print-token.sh"
    script.write_text(f"#!/bin/sh\necho {shlex.quote(TOKEN)}\n")
    script.chmod(0o755)
    return shlex.quote(str(script))


@pytest.mark.parametrize("auth", ["password", "xoauth2"])
def test_intake_reads_imap_and_replies_over_smtp(
    auth: str,
    imap: mailservers.Dovecot,
    tls: mailservers.Certificates,
    live_server: LiveServer,
    env,
    tmp_path,
):
    imap.empty(INTAKE_ADDRESS)
    token = seed_world(live_server, env)
    uids = {
        name: imap.deliver(INTAKE_ADDRESS, (SAMPLES / f"{name}.eml").read_bytes())
        for name in ("01-plain-request", "02-html-only", "03-out-of-office", "04-quoted-reply")
    }
    imap.set_flags(INTAKE_ADDRESS, uids["02-html-only"], r"\Seen")  # staff read it first: still a request
    question = imap.deliver(INTAKE_ADDRESS, QUESTION)
    scheme, security = ("imap", "--smtp-starttls") if auth == "xoauth2" else ("imaps", "--smtp-ssl")
    with mailservers.smtp_server(
        "starttls" if auth == "xoauth2" else "ssl",
        tls=tls,
        passwords={INTAKE_ADDRESS: PASSWORD},
        tokens={TOKEN: INTAKE_ADDRESS},
    ) as smtp:
        command = [
            sys.executable,
            str(ROOT / "scripts" / "intake.py"),
            "--api", live_server.url,
            "--token", token,
            "--imap", imap.url(INTAKE_ADDRESS, scheme=scheme),  # type: ignore[arg-type]
            "--smtp", f"{smtp.host}:{smtp.port}", security,
            "--from", INTAKE_ADDRESS,
            "--state", str(tmp_path / "state.sqlite3"),
            "--once",
        ]  # fmt: skip
        if auth == "xoauth2":
            command += ["--auth", "xoauth2"]
        environment = {
            **os.environ,
            "SSL_CERT_FILE": str(tls.ca_bundle),
            "CERTLEDGER_IMAP_PASSWORD": PASSWORD,
            "CERTLEDGER_SMTP_USER": INTAKE_ADDRESS,
            "CERTLEDGER_SMTP_PASSWORD": PASSWORD,
            "CERTLEDGER_OAUTH2_TOKEN_COMMAND": token_command(tmp_path),
        }
        if auth == "xoauth2":
            del environment["CERTLEDGER_IMAP_PASSWORD"], environment["CERTLEDGER_SMTP_PASSWORD"]
        done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        again = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr

        received = smtp.received
    answered = {
        str(email.message_from_bytes(r.data, policy=email.policy.default)["In-Reply-To"]): r for r in received
    }
    assert set(answered) == {
        "<CAF1aroha0001@mail.example.nz>",
        "<0102018e-miguel@email.example.com>",
        "<kai-2@example.de>",
    }
    assert all(
        r.reverse_path == "<>" for r in received
    )  # a null envelope sender: bounces of replies go nowhere
    assert all(r.user == INTAKE_ADDRESS for r in received)
    assert answered["<CAF1aroha0001@mail.example.nz>"].recipients == ["aroha@example.nz"]
    for name in ("01-plain-request", "02-html-only", "03-out-of-office", "04-quoted-reply"):
        assert r"\Seen" in imap.flags(INTAKE_ADDRESS, uids[name]), name
    assert imap.flags(INTAKE_ADDRESS, question) == set()  # left exactly as it was, unread, for staff
    assert PASSWORD not in done.stderr and TOKEN not in done.stderr and token not in done.stderr
