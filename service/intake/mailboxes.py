"""Reading mail: a Maildir or an IMAP mailbox, seen the same way by the rest of the intake.

The mailbox is usually a shared human inbox (SPEC §4). Staff reading mail set the Seen flag, so the intake
remembers what it handled by Message-ID in its own state, and this module yields every candidate whether
or not a person has read it: Maildir `new/` and `cur/`; IMAP messages of the last days. Reading never
changes a message: IMAP fetches with `BODY.PEEK[]` by UID (sequence numbers shift when someone expunges,
osTicket PR #6345). Only `mark_handled` touches one, after its reply went out.

Every failure a person can meet (server down, wrong password, expired token, TLS, a hang) becomes
`MailboxError` with one plain sentence, never a password or a token in it.
"""

import contextlib
import datetime as dt
import imaplib
import os
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import unquote, urlsplit

import msgspec

from service.intake.oauth import OAuthError, fetch_access_token, xoauth2_string

DEFAULT_SINCE_DAYS = 30

# Messages fetched per round trip: few enough to keep memory small, enough to hide a remote server's latency.
FETCH_BATCH = 25

_T = TypeVar("_T")


class MailboxError(Exception):
    """The mailbox could not be read or changed; the message is a sentence for the operator."""


class MailItem(msgspec.Struct, frozen=True):
    key: str  # how this mailbox finds the message again: the Maildir unique name, or the IMAP UID
    raw: bytes  # the whole message as received


# Given a message's header block (at least its Message-ID line), whether the caller already knows it and
# needs no more than that: the whole message is then not read (a busy shared inbox holds thousands).
Skip = Callable[[bytes], bool]


class Mailbox(Protocol):
    def messages(self, skip: Skip | None = None) -> Iterator[MailItem]:
        """Every candidate, seen by staff or not; reading changes nothing."""
        ...

    def mark_handled(self, key: str) -> None:
        """Mark one message seen, after its reply went out."""
        ...

    def close(self) -> None: ...


def open_mailbox(
    *,
    maildir: Path | None,
    imap_url: str | None,
    password: str | None,
    xoauth2: bool,
    timeout: float = 30.0,
    since_days: int = DEFAULT_SINCE_DAYS,
) -> Mailbox:
    """Open the one mailbox the command line names; an IMAP mailbox connects (and signs in) at once.

    `since_days` is the IMAP window (`UID SEARCH SINCE`); a Maildir yields all it holds.
    """
    if (maildir is None) == (imap_url is None):
        raise MailboxError("give either a Maildir or an IMAP URL to read mail from")
    if maildir is not None:
        return MaildirMailbox(maildir)
    assert imap_url is not None
    mailbox = ImapMailbox(
        parse_imap_url(imap_url), password=password, xoauth2=xoauth2, timeout=timeout, since_days=since_days
    )
    mailbox.connect()
    return mailbox


# Maildir (https://cr.yp.to/proto/maildir.html): a file name is "<unique>" in new/ and
# "<unique>:2,<flags>" in cur/, flags in ASCII order. The unique part never changes, so it is the key.


class MaildirMailbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._new = path / "new"
        self._cur = path / "cur"
        if not (self._new.is_dir() and self._cur.is_dir()):
            raise MailboxError(f"{path} is not a Maildir (it needs the folders new/ and cur/)")
        self._last_seen: dict[str, Path] = {}  # where messages() last found each key: saves a scan

    def messages(self, skip: Skip | None = None) -> Iterator[MailItem]:
        found = sorted(
            (_unique_part(entry.name), Path(entry.path))
            for folder in (self._new, self._cur)
            for entry in self._scan(folder)
            if entry.is_file()
        )
        for key, path in found:
            if "T" in _flags(path.name):  # trashed by a mail client, waiting to be purged
                continue
            try:
                if skip is not None and skip(_header_block(path)):
                    self._last_seen[key] = path
                    continue
                raw = path.read_bytes()
            except FileNotFoundError:  # moved or deleted by someone else since the scan
                continue
            except OSError as exc:
                raise MailboxError(f"cannot read {path}: {exc.strerror}") from None
            self._last_seen[key] = path
            yield MailItem(key=key, raw=raw)

    def mark_handled(self, key: str) -> None:
        if not key or "/" in key or ":" in key or key.startswith("."):
            raise MailboxError(f"{key!r} is not a message key of this Maildir")
        # A mail client may rename the file (setting its own flags) at any moment: look again if so.
        for _ in range(3):
            path = self._find(key)
            if path is None:
                return  # deleted meanwhile: nothing left to mark
            target = self._cur / f"{key}:2,{''.join(sorted(set(_flags(path.name)) | {'S'}))}"
            if path == target:
                return
            try:
                os.rename(path, target)
            except FileNotFoundError:
                self._last_seen.pop(key, None)
                continue
            except OSError as exc:
                raise MailboxError(f"cannot mark {path} as seen: {exc.strerror}") from None
            self._last_seen[key] = target
            return
        raise MailboxError(f"message {key} in {self.path} kept moving while being marked seen")

    def close(self) -> None:
        pass

    def _find(self, key: str) -> Path | None:
        for path in (self._last_seen.get(key), self._new / key):
            if path is not None and path.exists():
                return path
        for folder in (self._new, self._cur):
            for entry in self._scan(folder):
                if _unique_part(entry.name) == key:
                    return Path(entry.path)
        return None

    def _scan(self, folder: Path) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(folder) as entries:
                return [entry for entry in entries if not entry.name.startswith(".")]
        except OSError as exc:
            raise MailboxError(f"cannot read the Maildir folder {folder}: {exc.strerror}") from None


def _header_block(path: Path, limit: int = 65536) -> bytes:
    """The message's headers: the bytes up to the first empty line (or the first 64 KiB)."""
    with path.open("rb") as handle:
        head = handle.read(limit)
    for end in (b"\r\n\r\n", b"\n\n"):
        if (at := head.find(end)) >= 0:
            return head[: at + len(end)]
    return head


def _unique_part(name: str) -> str:
    return name.split(":", 1)[0]


def _flags(name: str) -> str:
    _, _, info = name.partition(":")
    return info[2:] if info.startswith("2,") else ""


# IMAP


class ImapLocation(msgspec.Struct, frozen=True):
    implicit_tls: bool
    host: str
    port: int
    user: str
    mailbox: str

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


def parse_imap_url(url: str) -> ImapLocation:
    """`imap://user@host:port/MAILBOX` or `imaps://…`; the user may be percent-encoded (info%40example.org)."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps"):
        raise MailboxError(f"an IMAP URL starts with imap:// or imaps://, not {url!r}")
    if parts.password is not None:
        raise MailboxError("keep the IMAP password out of the URL: put it in CERTLEDGER_IMAP_PASSWORD")
    try:
        port = parts.port
    except ValueError:
        raise MailboxError(f"the port in the IMAP URL {url!r} is not a number") from None
    if not parts.hostname or not parts.username:
        raise MailboxError(f"the IMAP URL {url!r} needs a user and a host: imap://user@host:port/MAILBOX")
    implicit_tls = parts.scheme == "imaps"
    mailbox = unquote(parts.path.lstrip("/")) or "INBOX"
    if not mailbox.isascii():
        # IMAP spells other names in modified UTF-7 (RFC 3501 §5.1.3); no inbox we serve needs it.
        raise MailboxError(f"the IMAP mailbox name {mailbox!r} must be ASCII")
    return ImapLocation(
        implicit_tls=implicit_tls,
        host=parts.hostname,
        port=port or (993 if implicit_tls else 143),
        user=unquote(parts.username),
        mailbox=mailbox,
    )


class ImapMailbox:
    def __init__(
        self,
        location: ImapLocation,
        *,
        password: str | None,
        xoauth2: bool,
        timeout: float = 30.0,
        since_days: int = DEFAULT_SINCE_DAYS,
    ) -> None:
        if not xoauth2 and not password:
            raise MailboxError(
                f"no password for {location.user} at {location.server}: set CERTLEDGER_IMAP_PASSWORD"
            )
        self.location = location
        self._password = password
        self._xoauth2 = xoauth2
        self._timeout = timeout
        self._since_days = since_days
        self._connection: imaplib.IMAP4 | None = None
        self._uidvalidity: bytes | None = None

    def connect(self) -> None:
        """Connect, sign in and select the mailbox now (otherwise the first call does)."""
        self._call(lambda connection: None)

    def messages(self, skip: Skip | None = None) -> Iterator[MailItem]:
        since = dt.date.today() - dt.timedelta(days=self._since_days)
        uids = self._call(lambda connection: _search_since(connection, since))
        if skip is not None:
            # Message-IDs first (a few dozen bytes each), whole messages only for the ones not yet known.
            wanted = []
            for start in range(0, len(uids), FETCH_BATCH * 8):
                chunk = uids[start : start + FETCH_BATCH * 8]
                headers = self._guarded(lambda chunk=chunk: _fetch(self._open(), chunk, _HEADERS_ITEM))
                wanted.extend(uid for uid in chunk if uid in headers and not skip(headers[uid]))
            uids = wanted
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start : start + FETCH_BATCH]
            # No retry here: a connection lost mid-way ends this pass; the caller reads again next time.
            bodies = self._guarded(lambda batch=batch: _fetch(self._open(), batch, _BODY_ITEM))
            for uid in batch:
                if uid in bodies:  # absent: expunged since the search
                    yield MailItem(key=str(uid), raw=bodies[uid])

    def mark_handled(self, key: str) -> None:
        if not key.isdigit():
            raise MailboxError(f"{key!r} is not an IMAP UID")
        # Storing a flag twice is harmless, so a dropped connection is simply retried once.
        self._call(lambda connection: _check(connection.uid("STORE", key, "+FLAGS.SILENT", r"(\Seen)")))

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            # LOGOUT, never CLOSE: CLOSE would expunge whatever staff flagged \Deleted.
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                connection.logout()

    def _call(self, operation: Callable[[imaplib.IMAP4], _T]) -> _T:
        """Run one operation; when the connection kept from before has dropped, reconnect and retry once."""
        if self._connection is not None:
            try:
                return operation(self._connection)
            except (imaplib.IMAP4.abort, OSError):
                self._drop()  # servers log idle clients out (RFC 3501 §5.4: after 30 minutes or more)
            except imaplib.IMAP4.error as exc:
                raise self._error(exc) from None
        return self._guarded(lambda: operation(self._open()))

    def _guarded(self, operation: Callable[[], _T]) -> _T:
        try:
            return operation()
        except (imaplib.IMAP4.error, OSError) as exc:
            self._drop()
            raise self._error(exc) from None

    def _open(self) -> imaplib.IMAP4:
        if self._connection is not None:
            return self._connection
        try:
            connection = self._connect()
        except OAuthError as exc:
            raise MailboxError(
                f"cannot sign in to the IMAP server at {self.location.server}: {exc}"
            ) from None
        except (imaplib.IMAP4.error, OSError) as exc:
            raise self._error(exc) from None
        self._connection = connection
        return connection

    def _connect(self) -> imaplib.IMAP4:
        location = self.location
        # A fresh default context per connection: it reads SSL_CERT_FILE / SSL_CERT_DIR as they are now.
        context = ssl.create_default_context()
        connection: imaplib.IMAP4
        if location.implicit_tls:
            connection = imaplib.IMAP4_SSL(
                location.host, location.port, ssl_context=context, timeout=self._timeout
            )
        else:
            connection = imaplib.IMAP4(location.host, location.port, timeout=self._timeout)
        try:
            if not location.implicit_tls and "STARTTLS" in connection.capabilities:
                connection.starttls(ssl_context=context)
            self._sign_in(connection)
            self._select(connection)
        except BaseException:
            with contextlib.suppress(OSError):  # a failed TLS handshake leaves a closed socket behind
                connection.shutdown()
            raise
        return connection

    def _sign_in(self, connection: imaplib.IMAP4) -> None:
        user = self.location.user
        try:
            if self._xoauth2:
                # The token goes stale within the hour: a new one for every connection.
                connection.authenticate("XOAUTH2", _answer_once(xoauth2_string(user, fetch_access_token())))
            elif "AUTH=PLAIN" in connection.capabilities:
                # AUTHENTICATE PLAIN carries a UTF-8 password; LOGIN's quoted string is ASCII only.
                credentials = f"\0{user}\0{self._password}"
                connection.authenticate("PLAIN", lambda _challenge: credentials.encode())
            else:
                connection.login(user, self._password or "")
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as exc:
            raise MailboxError(
                f"the IMAP server at {self.location.server} refused the sign-in of {user}" + _server_says(exc)
            ) from None
        except UnicodeEncodeError:
            raise MailboxError(
                f"the IMAP server at {self.location.server} takes ASCII passwords only"
            ) from None

    def _select(self, connection: imaplib.IMAP4) -> None:
        name = self.location.mailbox
        status, data = connection.select(_quoted(name))
        if status != "OK":
            raise MailboxError(
                f"cannot open the mailbox {name!r} at {self.location.server}" + _server_says(data)
            )
        _, (uidvalidity, *_) = connection.response("UIDVALIDITY")
        previous, self._uidvalidity = self._uidvalidity, uidvalidity
        if previous is not None and uidvalidity != previous:
            # The server renumbered the mailbox (RFC 3501 §2.3.1.1): UIDs handed out before mean nothing now.
            raise MailboxError(
                f"the mailbox {name!r} at {self.location.server} was renumbered (UIDVALIDITY changed); "
                "it is read again on the next pass"
            )

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.shutdown()

    def _error(self, exc: BaseException) -> MailboxError:
        if isinstance(exc, MailboxError):
            return exc
        return MailboxError(_describe(exc, "IMAP", self.location.server, self._timeout))


def _answer_once(response: str) -> Callable[[bytes], bytes]:
    """XOAUTH2's one client message. A refusal comes as a second challenge (a JSON error, Google's and
    Microsoft's way): answered with an empty line, the server then says NO."""
    answered = False

    def answer(_challenge: bytes) -> bytes:
        nonlocal answered
        if answered:
            return b""
        answered = True
        return response.encode()

    return answer


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _search_since(connection: imaplib.IMAP4, since: dt.date) -> list[int]:
    # IMAP dates are English whatever the locale: "04-Mar-2026". SINCE compares the arrival date.
    imap_date = f"{since.day:02d}-{_MONTHS[since.month - 1]}-{since.year}"
    data = _check(connection.uid("SEARCH", "SINCE", imap_date))
    return sorted(int(uid) for line in data if line for uid in line.split())


_UID = re.compile(rb"\bUID (\d+)")


_BODY_ITEM = ("(BODY.PEEK[])", b"BODY[]")
_HEADERS_ITEM = ("(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])", b"BODY[HEADER.FIELDS")


def _fetch(connection: imaplib.IMAP4, uids: list[int], item: tuple[str, bytes]) -> dict[int, bytes]:
    """A part of each message by UID (the whole of it, or its Message-ID header); BODY.PEEK so that
    reading does not set \\Seen."""
    request, answer = item
    data = _check(connection.uid("FETCH", ",".join(map(str, uids)), request))
    bodies: dict[int, bytes] = {}
    # imaplib gives (b'7 (UID 12 BODY[] {n}', literal) then b')' per message; a server may put UID after
    # the literal, and unsolicited FETCH responses (flags changed by staff) carry no literal at all.
    for index, part in enumerate(data):
        if not (isinstance(part, tuple) and answer in part[0]):
            continue
        match = _UID.search(part[0])
        if match is None and index + 1 < len(data) and isinstance(data[index + 1], bytes):
            match = _UID.search(data[index + 1])
        if match is not None:
            bodies[int(match.group(1))] = part[1]
    return bodies


def _check(response: tuple[str, list]) -> list:
    status, data = response
    if status != "OK":
        raise imaplib.IMAP4.error(_server_says(data).lstrip(": ") or status)
    return data


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _server_says(detail: object) -> str:
    """The server's own words, which often say why (Gmail: "Application-specific password required")."""
    if isinstance(detail, list):
        detail = detail[-1] if detail else ""
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    text = str(detail).strip()
    return f": {text[:200]}" if text else ""


def _describe(exc: BaseException, protocol: str, server: str, timeout: float) -> str:
    """One sentence for the operator about a network or protocol failure."""
    where = f"the {protocol} server at {server}"
    if isinstance(exc, ConnectionRefusedError):
        return f"could not connect to {where}: connection refused"
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError too
        return f"{where} did not answer within {timeout:g} seconds"
    if isinstance(exc, socket.gaierror):
        return f"could not find {where}: {exc.strerror}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"{where} presented a certificate that could not be verified: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS with {where} failed: {exc.reason or exc}"
    if isinstance(exc, imaplib.IMAP4.abort):
        return f"{where} closed the connection" + _server_says(str(exc))
    if isinstance(exc, OSError):
        return f"lost the connection to {where}: {exc.strerror or type(exc).__name__}"
    return f"{where} answered unexpectedly" + _server_says(str(exc))
