"""Reading mail (service/intake/mailboxes.py) from a real Maildir and a real dovecot, and the token command.

The inbox is shared with staff (SPEC §4): every test here that reads also checks that reading changed
nothing, and that a message someone already read is still offered.
"""

import datetime as dt
import os
import shlex
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.intake.mailboxes import (
    ImapLocation,
    MailboxError,
    MaildirMailbox,
    MailItem,
    open_mailbox,
    parse_imap_url,
)
from service.intake.oauth import TOKEN_COMMAND_VARIABLE, OAuthError, fetch_access_token, xoauth2_string
from tests import mailservers

USER = "info@example.org"
PASSWORD = "correct horse battery staple"
TOKEN = "ya29.a0-test-access-token"


def message(number: int, subject: str = "Certificate please") -> bytes:
    return (
        f"From: Aroha Ngata <aroha@example.nz>\r\nTo: {USER}\r\nSubject: {subject} {number}\r\n"
        f"Message-ID: <request-{number}@example.nz>\r\nDate: Wed, 4 Mar 2026 20:00:00 -0500\r\n"
        f"\r\nHello, may I have my certificate for the session of March 4? ({number})\r\n"
    ).encode()


def token_command(directory: Path, token: str = TOKEN) -> tuple[str, Path]:
    """A script that prints `token` and counts its runs; its path has a space, so the command is quoted."""
    folder = directory / "token command"
    folder.mkdir(exist_ok=True)
    script, calls = folder / "print-token.sh", folder / "calls"
    script.write_text(f"#!/bin/sh\necho run >> {shlex.quote(str(calls))}\necho {shlex.quote(token)}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return shlex.quote(str(script)), calls


def runs(calls: Path) -> int:
    return len(calls.read_text().splitlines()) if calls.exists() else 0


# Maildir


def put(maildir: Path, folder: str, name: str, raw: bytes) -> Path:
    path = maildir / folder / name
    path.write_bytes(raw)
    return path


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    path = tmp_path / "Maildir"
    for folder in ("tmp", "new", "cur"):
        (path / folder).mkdir(parents=True)
    return path


def listing(maildir: Path) -> dict[str, tuple[bytes, float]]:
    return {
        f"{path.parent.name}/{path.name}": (path.read_bytes(), path.stat().st_mtime)
        for folder in ("new", "cur")
        for path in (maildir / folder).iterdir()
    }


def test_maildir_offers_new_and_cur_read_or_not_but_not_trashed(maildir: Path) -> None:
    put(maildir, "new", "1700000001.M1P1.host", message(1))
    put(maildir, "cur", "1700000002.M2P2.host:2,S", message(2))  # staff read it
    put(maildir, "cur", "1700000003.M3P3.host:2,", message(3))  # a client saw it arrive, nobody read it
    put(maildir, "cur", "1700000004.M4P4.host:2,ST", message(4))  # trashed, waiting to be purged
    put(maildir, "new", ".hidden-by-a-client", message(5))

    items = list(MaildirMailbox(maildir).messages())

    assert items == [
        MailItem("1700000001.M1P1.host", message(1)),
        MailItem("1700000002.M2P2.host", message(2)),
        MailItem("1700000003.M3P3.host", message(3)),
    ]


def test_maildir_reading_changes_nothing(maildir: Path) -> None:
    put(maildir, "new", "1700000001.M1P1.host", message(1))
    put(maildir, "cur", "1700000002.M2P2.host:2,F", message(2))
    before = listing(maildir)

    mailbox = MaildirMailbox(maildir)
    list(mailbox.messages())
    mailbox.close()

    assert listing(maildir) == before


def test_maildir_mark_handled_moves_to_cur_with_seen_keeping_other_flags(maildir: Path) -> None:
    put(maildir, "new", "1700000001.M1P1.host", message(1))
    put(maildir, "cur", "1700000002.M2P2.host:2,F", message(2))  # flagged by staff
    put(maildir, "new", "1700000003.M3P3.host", message(3))  # not a request: never marked
    mailbox = MaildirMailbox(maildir)
    keys = [item.key for item in mailbox.messages()]

    mailbox.mark_handled(keys[0])
    mailbox.mark_handled(keys[1])
    mailbox.mark_handled(keys[1])  # twice is harmless

    assert sorted(listing(maildir)) == [
        "cur/1700000001.M1P1.host:2,S",
        "cur/1700000002.M2P2.host:2,FS",
        "new/1700000003.M3P3.host",
    ]
    assert (maildir / "cur" / "1700000001.M1P1.host:2,S").read_bytes() == message(1)
    # Handled messages are still offered (the intake's own state says they were handled).
    assert [item.key for item in mailbox.messages()] == keys


def test_maildir_mark_handled_follows_a_message_a_mail_client_renamed(maildir: Path) -> None:
    put(maildir, "new", "1700000001.M1P1.host", message(1))
    put(maildir, "new", "1700000002.M2P2.host", message(2))
    mailbox = MaildirMailbox(maildir)
    first, second = (item.key for item in mailbox.messages())
    # Meanwhile staff opened the first in their mail client and deleted the second.
    os.rename(maildir / "new" / first, maildir / "cur" / f"{first}:2,RS")
    os.remove(maildir / "new" / second)

    mailbox.mark_handled(first)
    mailbox.mark_handled(second)

    assert sorted(listing(maildir)) == ["cur/1700000001.M1P1.host:2,RS"]


def test_maildir_skips_a_message_that_vanishes_while_iterating(maildir: Path) -> None:
    for number in (1, 2, 3):
        put(maildir, "new", f"170000000{number}.M{number}P1.host", message(number))
    items = MaildirMailbox(maildir).messages()

    first = next(items)
    (maildir / "new" / "1700000002.M2P1.host").unlink()

    assert [first.key, *(item.key for item in items)] == ["1700000001.M1P1.host", "1700000003.M3P1.host"]


def test_maildir_refuses_a_key_that_is_a_path(maildir: Path) -> None:
    with pytest.raises(MailboxError):
        MaildirMailbox(maildir).mark_handled("../new/x")


@pytest.mark.parametrize(
    ("maildir", "imap_url"),
    [(None, None), (Path("/tmp/somewhere"), "imap://u@127.0.0.1/")],
    ids=["neither", "both"],
)
def test_open_mailbox_wants_exactly_one_source(maildir: Path | None, imap_url: str | None) -> None:
    with pytest.raises(MailboxError, match="either a Maildir or an IMAP URL"):
        open_mailbox(maildir=maildir, imap_url=imap_url, password="x", xoauth2=False)


def test_a_folder_that_is_not_a_maildir_is_a_plain_error(tmp_path: Path) -> None:
    with pytest.raises(MailboxError, match=r"is not a Maildir \(it needs the folders new/ and cur/\)"):
        open_mailbox(maildir=tmp_path, imap_url=None, password=None, xoauth2=False)


# IMAP URLs


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "imap://info%40example.org@mail.example.org/",
            ImapLocation(False, "mail.example.org", 143, USER, "INBOX"),
        ),
        (
            "imaps://info%40example.org@mail.example.org",
            ImapLocation(True, "mail.example.org", 993, USER, "INBOX"),
        ),
        (
            "imap://intake@127.0.0.1:10143/Requests",
            ImapLocation(False, "127.0.0.1", 10143, "intake", "Requests"),
        ),
        (
            "imaps://info%40example.org@outlook.office365.com:993/Certificate%20requests",
            ImapLocation(True, "outlook.office365.com", 993, USER, "Certificate requests"),
        ),
    ],
)
def test_imap_urls(url: str, expected: ImapLocation) -> None:
    assert parse_imap_url(url) == expected


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("pop3://u@host/", "starts with imap:// or imaps://"),
        ("imap://host/", "needs a user and a host"),
        ("imap://u:hunter2@host/", "keep the IMAP password out of the URL"),
        ("imap://u@host:port/", "port .* is not a number"),
    ],
)
def test_bad_imap_urls_are_plain_errors(url: str, complaint: str) -> None:
    with pytest.raises(MailboxError, match=complaint) as raised:
        parse_imap_url(url)
    assert "hunter2" not in str(raised.value)


# The token command (service/intake/oauth.py), shared by IMAP and SMTP


def test_token_command_runs_without_a_shell_and_quoting_works(tmp_path: Path) -> None:
    command, calls = token_command(tmp_path)
    assert fetch_access_token({TOKEN_COMMAND_VARIABLE: command}) == TOKEN
    assert fetch_access_token({TOKEN_COMMAND_VARIABLE: command}) == TOKEN
    assert runs(calls) == 2  # run afresh each time, never cached
    # No shell: a pipe is an argument of echo, not a pipe.
    assert fetch_access_token({TOKEN_COMMAND_VARIABLE: "echo token|cat"}) == "token|cat"


@pytest.mark.parametrize(
    ("command", "complaint"),
    [
        ("", f"XOAUTH2 needs {TOKEN_COMMAND_VARIABLE}"),
        ("   ", f"XOAUTH2 needs {TOKEN_COMMAND_VARIABLE}"),
        ("'unbalanced", f"{TOKEN_COMMAND_VARIABLE} cannot be split into words"),
        ("/nonexistent/print-token", f"the command in {TOKEN_COMMAND_VARIABLE} was not found: /nonexistent"),
        ("true", f"the command in {TOKEN_COMMAND_VARIABLE} printed no access token"),
        (
            "sh -c 'echo s3cret-token; echo login expired >&2; exit 3'",
            f"the command in {TOKEN_COMMAND_VARIABLE} failed with exit status 3: login expired",
        ),
        ("echo s3cret-token and-more", "printed more than one access token"),
    ],
)
def test_token_command_failures_name_the_variable_and_never_the_token(command: str, complaint: str) -> None:
    with pytest.raises(OAuthError, match=complaint) as raised:
        fetch_access_token({TOKEN_COMMAND_VARIABLE: command})
    assert "s3cret" not in str(raised.value)


def test_token_command_that_hangs_is_stopped() -> None:
    with pytest.raises(OAuthError, match=r"printed no token within 0\.2 seconds"):
        fetch_access_token({TOKEN_COMMAND_VARIABLE: "sleep 5"}, timeout=0.2)


def test_xoauth2_string_is_the_documented_wire_format() -> None:
    assert xoauth2_string(USER, "abc") == "user=info@example.org\x01auth=Bearer abc\x01\x01"


# IMAP against dovecot


@pytest.fixture(scope="module")
def tls() -> Iterator[mailservers.Certificates]:
    with mailservers.certificates() as certificates:
        yield certificates


@pytest.fixture(scope="module")
def introspection() -> Iterator[mailservers.Introspection]:
    with mailservers.token_introspection({TOKEN: USER}) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def imap(
    tls: mailservers.Certificates, introspection: mailservers.Introspection
) -> Iterator[mailservers.Dovecot]:
    mailservers.require_dovecot()
    with mailservers.dovecot({USER: PASSWORD}, tls=tls, introspection=introspection) as server:
        yield server


@pytest.fixture
def inbox(imap: mailservers.Dovecot, tls: mailservers.Certificates, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty INBOX on a server whose certificate this process trusts (through SSL_CERT_FILE)."""
    imap.empty(USER)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_bundle))
    return USER


def read_all(
    url: str, *, password: str | None = PASSWORD, xoauth2: bool = False, **options: float
) -> list[MailItem]:
    mailbox = open_mailbox(maildir=None, imap_url=url, password=password, xoauth2=xoauth2, **options)
    try:
        return list(mailbox.messages())
    finally:
        mailbox.close()


@pytest.mark.parametrize("scheme", ["imap", "imaps"])
def test_imap_reads_every_recent_message_seen_or_not_and_changes_nothing(
    imap: mailservers.Dovecot, inbox: str, scheme: str
) -> None:
    first = imap.deliver(inbox, message(1))
    second = imap.deliver(inbox, message(2), flags=r"\Seen")  # staff read it
    third = imap.deliver(inbox, message(3), flags=r"\Flagged")

    items = read_all(imap.url(inbox, scheme=scheme))  # type: ignore[arg-type]

    assert items == [
        MailItem(str(first), message(1)),
        MailItem(str(second), message(2)),
        MailItem(str(third), message(3)),
    ]
    assert imap.flags(inbox, first) == set()  # BODY.PEEK[]: reading did not mark it seen
    assert imap.flags(inbox, second) == {r"\Seen"}
    assert imap.flags(inbox, third) == {r"\Flagged"}


def test_imap_mark_handled_sets_seen_on_that_message_only(imap: mailservers.Dovecot, inbox: str) -> None:
    request, question = imap.deliver(inbox, message(1)), imap.deliver(inbox, message(2, "A question"))
    mailbox = open_mailbox(maildir=None, imap_url=imap.url(inbox), password=PASSWORD, xoauth2=False)
    try:
        keys = [item.key for item in mailbox.messages()]
        mailbox.mark_handled(str(request))
    finally:
        mailbox.close()

    assert keys == [str(request), str(question)]
    assert imap.flags(inbox, request) == {r"\Seen"}
    assert imap.flags(inbox, question) == set()  # not a request: left exactly as it was, unread


def test_imap_keys_are_uids_that_survive_an_expunge(imap: mailservers.Dovecot, inbox: str) -> None:
    uids = [imap.deliver(inbox, message(number)) for number in (1, 2, 3)]
    mailbox = open_mailbox(maildir=None, imap_url=imap.url(inbox), password=PASSWORD, xoauth2=False)
    try:
        keys = [item.key for item in mailbox.messages()]
        imap.expunge(inbox, uids[0])  # staff delete the first: sequence numbers shift, UIDs do not
        mailbox.mark_handled(keys[2])
        remaining = [item.key for item in mailbox.messages()]
    finally:
        mailbox.close()

    assert imap.flags(inbox, uids[2]) == {r"\Seen"}
    assert imap.flags(inbox, uids[1]) == set()
    assert remaining == [str(uids[1]), str(uids[2])]


def test_imap_offers_only_the_last_days(imap: mailservers.Dovecot, inbox: str) -> None:
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=45)
    imap.deliver(inbox, message(1), arrived=long_ago)
    recent = imap.deliver(inbox, message(2))

    assert [item.key for item in read_all(imap.url(inbox))] == [str(recent)]
    assert len(read_all(imap.url(inbox), since_days=60)) == 2


def test_imap_reconnects_after_the_server_dropped_the_connection(
    imap: mailservers.Dovecot, inbox: str
) -> None:
    uid = imap.deliver(inbox, message(1))
    mailbox = open_mailbox(maildir=None, imap_url=imap.url(inbox), password=PASSWORD, xoauth2=False)
    try:
        (item,) = mailbox.messages()
        imap.kick(inbox)  # as an idle logout or a server restart would
        mailbox.mark_handled(item.key)
        imap.kick(inbox)
        assert list(mailbox.messages()) == [item]
    finally:
        mailbox.close()
    assert imap.flags(inbox, uid) == {r"\Seen"}


def test_imap_xoauth2_with_a_fresh_token_per_connection(
    imap: mailservers.Dovecot,
    inbox: str,
    introspection: mailservers.Introspection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uid = imap.deliver(inbox, message(1))
    command, calls = token_command(tmp_path)
    monkeypatch.setenv(TOKEN_COMMAND_VARIABLE, command)
    asked = len(introspection.asked)

    assert [item.key for item in read_all(imap.url(inbox), password=None, xoauth2=True)] == [str(uid)]
    assert [item.key for item in read_all(imap.url(inbox, scheme="imaps"), password=None, xoauth2=True)] == [
        str(uid)
    ]

    assert runs(calls) == 2
    assert introspection.asked[asked:] == [TOKEN, TOKEN]  # dovecot checked the token each time


def test_imap_xoauth2_with_a_wrong_token_is_refused(
    imap: mailservers.Dovecot, inbox: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command, _ = token_command(tmp_path, token="ya29.expired-token")
    monkeypatch.setenv(TOKEN_COMMAND_VARIABLE, command)

    with pytest.raises(
        MailboxError, match=rf"refused the sign-in of {USER}: \[AUTHENTICATIONFAILED\]"
    ) as raised:
        read_all(imap.url(inbox), password=None, xoauth2=True)
    assert "expired-token" not in str(raised.value)


def test_imap_xoauth2_without_a_token_command(
    imap: mailservers.Dovecot, inbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_COMMAND_VARIABLE, raising=False)
    with pytest.raises(
        MailboxError, match=f"cannot sign in to the IMAP server .*: XOAUTH2 needs {TOKEN_COMMAND_VARIABLE}"
    ):
        read_all(imap.url(inbox), password=None, xoauth2=True)


def test_imap_wrong_password_is_a_plain_error_without_the_password(
    imap: mailservers.Dovecot, inbox: str
) -> None:
    with pytest.raises(MailboxError, match=f"refused the sign-in of {USER}") as raised:
        read_all(imap.url(inbox), password="wrong-password-42")
    assert "wrong-password-42" not in str(raised.value)


def test_imap_missing_password(imap: mailservers.Dovecot, inbox: str) -> None:
    with pytest.raises(MailboxError, match="set CERTLEDGER_IMAP_PASSWORD"):
        read_all(imap.url(inbox), password=None)


def test_imap_missing_mailbox(imap: mailservers.Dovecot, inbox: str) -> None:
    with pytest.raises(MailboxError, match="cannot open the mailbox 'Requests'"):
        read_all(imap.url(inbox, mailbox="Requests"))


@pytest.mark.parametrize("scheme", ["imap", "imaps"])
def test_imap_certificates_are_verified(
    imap: mailservers.Dovecot, inbox: str, scheme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """imap:// takes the STARTTLS the server offers, and checks its certificate like imaps:// does."""
    monkeypatch.delenv("SSL_CERT_FILE")  # the system's CAs do not know the test CA
    with pytest.raises(MailboxError, match="presented a certificate that could not be verified"):
        read_all(imap.url(inbox, scheme=scheme))  # type: ignore[arg-type]


def test_imap_without_starttls_signs_in_as_is(tmp_path: Path) -> None:
    """A server offering no STARTTLS (a local one) is read over plain IMAP."""
    mailservers.require_dovecot()
    with mailservers.dovecot({USER: PASSWORD}) as server:
        uid = server.deliver(USER, message(1))
        assert read_all(server.url(USER)) == [MailItem(str(uid), message(1))]


def test_imap_server_that_never_answers_times_out() -> None:
    with mailservers.silent_server() as (host, port):
        started = time.monotonic()
        with pytest.raises(
            MailboxError, match=rf"the IMAP server at {host}:{port} did not answer within 0.5 seconds"
        ):
            read_all(f"imap://{USER}@{host}:{port}/", timeout=0.5)
        assert time.monotonic() - started < 5


def test_imap_connection_refused() -> None:
    port = mailservers.free_port()  # nothing listens there
    with pytest.raises(
        MailboxError, match=f"could not connect to the IMAP server at 127.0.0.1:{port}: connection refused"
    ):
        read_all(f"imap://{USER}@127.0.0.1:{port}/")
