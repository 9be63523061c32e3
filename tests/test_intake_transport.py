"""Sending replies (service/intake/transport.py) through a real aiosmtpd, and into an outbox Maildir.

What the server records is what went over the wire: the null envelope sender (RFC 3834 §4: a reply's
bounce must not come back to the intake), the recipients, the bytes after DATA, who signed in and how.
"""

import contextlib
import email
import email.message
import email.policy
import shlex
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

from service.intake.oauth import TOKEN_COMMAND_VARIABLE
from service.intake.transport import (
    Transport,
    TransportError,
    outbox_transport,
    smtp_transport,
    wire_bytes,
)
from tests import mailservers

USER = "info@example.org"
PASSWORD = "correct horse battery staple"
TOKEN = "ya29.a0-test-access-token"
SECURITIES: list[Literal["plain", "starttls", "ssl"]] = ["plain", "starttls", "ssl"]


def reply(number: int = 1, *, attachment: bool = False) -> email.message.EmailMessage:
    message = email.message.EmailMessage()
    message["From"] = f"Certificates <{USER}>"
    message["To"] = "Aroha Ngata <aroha@example.nz>"
    message["Subject"] = f"Re: Certificate please {number}"
    message["Message-ID"] = f"<reply-{number}@certs.example.org>"
    message["In-Reply-To"] = f"<request-{number}@example.nz>"
    message["Auto-Submitted"] = "auto-replied"
    # A line starting with a dot, and non-ASCII text: DATA's dot-stuffing and the charset both round-trip.
    message.set_content(
        f"Kia ora Aroha,\n.\n.your certificate for 4 March is attached — Ngā mihi ({number})\n"
    )
    if attachment:
        message.add_attachment(
            b"%PDF-1.7\n" + bytes(range(256)) * 8,
            maintype="application",
            subtype="pdf",
            filename="certificate-1.pdf",
        )
        message.set_boundary("=-certledger-test-boundary")  # otherwise each flattening draws its own
    return message


def parsed(data: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def token_command(directory: Path, token: str = TOKEN) -> tuple[str, Path]:
    """A script that prints `token` and counts its runs."""
    script, calls = directory / "print-token", directory / "calls"
    script.write_text(f"#!/bin/sh\necho run >> {shlex.quote(str(calls))}\necho {shlex.quote(token)}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return shlex.quote(str(script)), calls


def runs(calls: Path) -> int:
    return len(calls.read_text().splitlines()) if calls.exists() else 0


@pytest.fixture(scope="module")
def tls() -> Iterator[mailservers.Certificates]:
    with mailservers.certificates() as certificates:
        yield certificates


@pytest.fixture
def trusted(tls: mailservers.Certificates, monkeypatch: pytest.MonkeyPatch) -> None:
    """This process trusts the test CA the standard way: SSL_CERT_FILE, read by ssl.create_default_context()."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_bundle))


@pytest.fixture(params=SECURITIES)
def server(request: pytest.FixtureRequest, tls: mailservers.Certificates) -> Iterator[mailservers.SmtpServer]:
    with mailservers.smtp_server(
        request.param, tls=tls, passwords={USER: PASSWORD}, tokens={TOKEN: USER}
    ) as smtp:
        yield smtp


def transport_to(
    server: mailservers.SmtpServer,
    *,
    user: str | None = USER,
    password: str | None = PASSWORD,
    xoauth2: bool = False,
    security: Literal["plain", "starttls", "ssl"] | None = None,
) -> contextlib.closing[Transport]:
    """A transport to the test server, closed after the `with` (a connection left open would leak)."""
    transport = smtp_transport(
        host=server.host,
        port=server.port,
        security=security or server.security,
        user=user,
        password=None if xoauth2 else password,
        xoauth2=xoauth2,
        timeout=10,
    )
    return contextlib.closing(transport)


def signed_in_once(server: mailservers.SmtpServer) -> bool:
    return server.recorder.sign_ins in ([("PLAIN", USER)], [("LOGIN", USER)])


@pytest.mark.usefixtures("trusted")
def test_smtp_with_password_sends_with_a_null_envelope_sender(server: mailservers.SmtpServer) -> None:
    with transport_to(server) as transport:
        transport.send(reply(1, attachment=True), ["aroha@example.nz"])

    (received,) = server.received
    assert received.reverse_path == "<>"
    assert received.recipients == ["aroha@example.nz"]
    assert received.user == USER
    assert received.data == wire_bytes(reply(1, attachment=True), ["aroha@example.nz"])
    message = parsed(received.data)
    assert message["Message-ID"] == "<reply-1@certs.example.org>"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.startswith("Kia ora Aroha,\r\n.\r\n.your certificate for 4 March is attached — Ngā mihi")
    assert signed_in_once(server)


@pytest.mark.usefixtures("trusted")
def test_smtp_with_xoauth2_gets_a_fresh_token_per_connection(
    server: mailservers.SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command, calls = token_command(tmp_path)
    monkeypatch.setenv(TOKEN_COMMAND_VARIABLE, command)
    with transport_to(server, xoauth2=True) as transport:
        transport.send(reply(1), ["aroha@example.nz"])
        transport.send(reply(2), ["aroha@example.nz"])  # the same connection: no new token
        server.restart()  # the server cut the connection between two replies
        transport.send(reply(3), ["aroha@example.nz"])

    assert [parsed(received.data)["Message-ID"] for received in server.received] == [
        "<reply-1@certs.example.org>",
        "<reply-2@certs.example.org>",
        "<reply-3@certs.example.org>",
    ]
    assert {received.reverse_path for received in server.received} == {"<>"}
    assert server.recorder.sign_ins == [("XOAUTH2", USER), ("XOAUTH2", USER)]
    assert runs(calls) == 2


@pytest.mark.usefixtures("trusted")
def test_smtp_xoauth2_with_a_wrong_token_is_refused(
    server: mailservers.SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command, _ = token_command(tmp_path, token="ya29.expired-token")
    monkeypatch.setenv(TOKEN_COMMAND_VARIABLE, command)
    with (
        transport_to(server, xoauth2=True) as transport,
        pytest.raises(TransportError, match=f"refused the sign-in of {USER}: 535 ") as raised,
    ):
        transport.send(reply(), ["aroha@example.nz"])
    assert "expired-token" not in str(raised.value)
    assert server.received == []


@pytest.mark.usefixtures("trusted")
def test_smtp_wrong_password_is_refused_without_saying_it(server: mailservers.SmtpServer) -> None:
    with (
        transport_to(server, password="wrong-password-42") as transport,
        pytest.raises(TransportError, match=f"refused the sign-in of {USER}: 535 ") as raised,
    ):
        transport.send(reply(), ["aroha@example.nz"])
    assert "wrong-password-42" not in str(raised.value)


@pytest.mark.usefixtures("trusted")
def test_smtp_failing_token_command_names_the_variable(
    server: mailservers.SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_COMMAND_VARIABLE, "false")
    with (
        transport_to(server, xoauth2=True) as transport,
        pytest.raises(
            TransportError, match=f"the command in {TOKEN_COMMAND_VARIABLE} failed with exit status 1"
        ),
    ):
        transport.send(reply(), ["aroha@example.nz"])


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_smtp_certificates_are_verified(
    security: Literal["starttls", "ssl"], tls: mailservers.Certificates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)  # the system's CAs do not know the test CA
    with (
        mailservers.smtp_server(security, tls=tls, passwords={USER: PASSWORD}) as server,
        transport_to(server) as transport,
        pytest.raises(TransportError, match="presented a certificate that could not be verified"),
    ):
        transport.send(reply(), ["aroha@example.nz"])
    assert server.received == []


def test_smtp_starttls_when_the_server_offers_none() -> None:
    with (
        mailservers.smtp_server("plain", passwords={USER: PASSWORD}) as server,
        transport_to(server, security="starttls") as transport,
        pytest.raises(TransportError, match="does not offer STARTTLS"),
    ):
        transport.send(reply(), ["aroha@example.nz"])


def test_smtp_refused_recipient_is_an_error_and_the_connection_carries_on() -> None:
    with mailservers.smtp_server("plain", passwords={USER: PASSWORD}) as server:
        server.recorder.refused.add("gone@example.nz")
        with transport_to(server) as transport:
            with pytest.raises(
                TransportError, match=r"refused gone@example\.nz \(550 5\.1\.1 No such user here\)"
            ):
                transport.send(reply(1), ["gone@example.nz"])
            with pytest.raises(TransportError, match=r"refused gone@example\.nz .*\(the others were sent\)"):
                transport.send(reply(2), ["aroha@example.nz", "gone@example.nz"])
            transport.send(reply(3), ["aroha@example.nz"])

    assert [received.recipients for received in server.received] == [
        ["aroha@example.nz"],
        ["aroha@example.nz"],
    ]
    assert signed_in_once(server)


def test_smtp_without_credentials_where_the_server_requires_them() -> None:
    with (
        mailservers.smtp_server("plain", passwords={USER: PASSWORD}) as server,
        transport_to(server, user=None, password=None) as transport,
        pytest.raises(TransportError, match=r"refused the message: 530 5\.7\.0 Authentication required"),
    ):
        transport.send(reply(), ["aroha@example.nz"])


def test_smtp_relay_without_sign_in() -> None:
    with (
        mailservers.smtp_server("plain", auth_required=False) as server,
        transport_to(server, user=None, password=None) as transport,
    ):
        transport.send(reply(), ["aroha@example.nz"])
    (received,) = server.received
    assert (received.reverse_path, received.user) == ("<>", None)


def test_smtp_server_that_never_answers_times_out() -> None:
    with mailservers.silent_server() as (host, port):
        transport = smtp_transport(
            host=host, port=port, security="plain", user=None, password=None, xoauth2=False, timeout=0.5
        )
        started = time.monotonic()
        with pytest.raises(
            TransportError, match=rf"the SMTP server at {host}:{port} did not answer within 0\.5 seconds"
        ):
            transport.send(reply(), ["aroha@example.nz"])
        assert time.monotonic() - started < 5


def test_smtp_connection_refused() -> None:
    port = mailservers.free_port()  # nothing listens there
    transport = smtp_transport(
        host="127.0.0.1", port=port, security="ssl", user=USER, password=PASSWORD, xoauth2=False
    )
    with pytest.raises(
        TransportError, match=f"could not connect to the SMTP server at 127.0.0.1:{port}: connection refused"
    ):
        transport.send(reply(), ["aroha@example.nz"])


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"security": "tls", "user": USER, "password": PASSWORD, "xoauth2": False}, "unknown SMTP security"),
        ({"security": "ssl", "user": None, "password": None, "xoauth2": True}, "XOAUTH2 signs in as a user"),
        ({"security": "ssl", "user": USER, "password": None, "xoauth2": False}, "set both"),
    ],
)
def test_smtp_settings_are_checked_up_front(options: dict, complaint: str) -> None:
    with pytest.raises(TransportError, match=complaint):
        smtp_transport(host="127.0.0.1", port=465, **options)


def test_a_reply_needs_a_recipient(tmp_path: Path) -> None:
    with pytest.raises(TransportError, match="at least one recipient"):
        outbox_transport(tmp_path / "outbox").send(reply(), [])


# The outbox


def test_outbox_holds_what_an_smtp_server_receives(tmp_path: Path) -> None:
    with (
        mailservers.smtp_server("plain", auth_required=False) as server,
        transport_to(server, user=None, password=None) as transport,
    ):
        transport.send(reply(1, attachment=True), ["aroha@example.nz"])
    outbox = outbox_transport(tmp_path / "outbox")  # created, with tmp/ new/ cur/
    outbox.send(reply(1, attachment=True), ["aroha@example.nz"])
    outbox.close()

    (path,) = (tmp_path / "outbox" / "new").iterdir()
    assert path.read_bytes() == server.received[0].data
    assert b"\r\n" in path.read_bytes() and b"\n" not in path.read_bytes().replace(b"\r\n", b"")[:2000]
    message = parsed(path.read_bytes())
    assert message["In-Reply-To"] == "<request-1@example.nz>"
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "certificate-1.pdf"
    assert attachment.get_content() == b"%PDF-1.7\n" + bytes(range(256)) * 8


def test_outbox_in_an_existing_empty_folder_keeps_every_reply_and_drops_bcc(tmp_path: Path) -> None:
    (tmp_path / "outbox").mkdir()
    outbox = outbox_transport(tmp_path / "outbox")
    copy = reply(2)
    copy["Bcc"] = "archive@example.org"
    outbox.send(reply(1), ["aroha@example.nz"])
    outbox.send(copy, ["aroha@example.nz", "archive@example.org"])

    messages = sorted(
        (parsed(path.read_bytes()) for path in (tmp_path / "outbox" / "new").iterdir()),
        key=lambda message: str(message["Message-ID"]),
    )
    assert [message["Message-ID"] for message in messages] == [
        "<reply-1@certs.example.org>",
        "<reply-2@certs.example.org>",
    ]
    assert messages[1]["Bcc"] is None
    assert sorted(path.name for path in (tmp_path / "outbox").iterdir()) == ["cur", "new", "tmp"]
