"""Real mail servers on 127.0.0.1 for the intake tests: dovecot for IMAP, aiosmtpd for SMTP, a throwaway CA.

The intake talks to Gmail, Microsoft 365 and dovecot in production; fakes written for the tests would only
agree with the intake's own idea of IMAP and SMTP. So the tests run Debian's dovecot (`dovecot -F` with a
config of its own in a temporary folder, on free ports, never the system service's) and aiosmtpd, both
with TLS from a trustme CA, password sign-in and XOAUTH2 checked against real tokens.

Plain context managers, no pytest: each test module decides its fixtures' scope (dovecot starts once per
module) and whether a missing dovecot skips or fails (CI).
"""

import base64
import contextlib
import datetime as dt
import imaplib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, quote

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from tests.support import unavailable

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port free now on 127.0.0.1 (for dovecot, which takes its ports from a config file)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


# TLS


class Certificates:
    """A CA made for this test run and a server certificate for 127.0.0.1 and localhost.

    Clients trust it through `ca_bundle` (set SSL_CERT_FILE to it: `ssl.create_default_context()` reads it).
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA(organization_name="certledger test CA")
        self._server = self.ca.issue_cert(LOOPBACK, "localhost")
        self.ca_bundle = directory / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_bundle))
        self.server_chain = directory / "server-chain.pem"
        self.server_key = directory / "server-key.pem"
        for blob in self._server.cert_chain_pems:
            blob.write_to_path(str(self.server_chain), append=True)
        self._server.private_key_pem.write_to_path(str(self.server_key))
        for path in (self.ca_bundle, self.server_chain, self.server_key):
            path.chmod(0o644)  # dovecot reads them as root at start, but keep them readable for its children

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server.configure_cert(context)
        return context


@contextlib.contextmanager
def certificates() -> Iterator[Certificates]:
    with tempfile.TemporaryDirectory(prefix="certledger-tls-") as directory:
        yield Certificates(Path(directory))


# OAuth 2.0 token introspection (RFC 7662), as dovecot's oauth2 passdb asks it


@dataclass
class Introspection:
    """The endpoint's address and the tokens it accepts: token -> user (mutable while it runs)."""

    url: str
    tokens: dict[str, str]
    asked: list[str] = field(default_factory=list)  # the tokens it was asked about, in order


@contextlib.contextmanager
def token_introspection(tokens: dict[str, str]) -> Iterator[Introspection]:
    """A tiny HTTP introspection endpoint in a thread: `{"active": true, "username": …}` for a known token."""
    state = Introspection(url="", tokens=dict(tokens))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            token = (form.get("token") or [""])[0]
            state.asked.append(token)
            user = state.tokens.get(token)
            answer = {"active": True, "username": user} if user else {"active": False}
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output for failures

    server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    server.daemon_threads = True
    state.url = f"http://{LOOPBACK}:{server.server_port}/introspect"
    thread = threading.Thread(target=server.serve_forever, name="token-introspection", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# IMAP: dovecot


def dovecot_binary() -> str | None:
    """Where Debian's dovecot is, or None (it lives in /usr/sbin, often outside a user's PATH)."""
    found = shutil.which("dovecot")
    if found:
        return found
    return "/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None


@dataclass
class Dovecot:
    host: str
    imap_port: int  # plain IMAP, STARTTLS offered when tls
    imaps_port: int | None  # implicit TLS, when tls
    passwords: dict[str, str]
    directory: Path
    log: Path

    def url(self, user: str, *, scheme: Literal["imap", "imaps"] = "imap", mailbox: str = "") -> str:
        """`imap://info%40example.org@127.0.0.1:PORT/MAILBOX`: the user percent-encoded, as operators write it."""
        port = self.imap_port if scheme == "imap" else self.imaps_port
        return f"{scheme}://{quote(user, safe='')}@{self.host}:{port}/{quote(mailbox)}"

    @contextlib.contextmanager
    def session(self, user: str, mailbox: str = "INBOX") -> Iterator[imaplib.IMAP4]:
        """A helper connection of the test's own (plain IMAP, password) with the mailbox selected."""
        connection = imaplib.IMAP4(self.host, self.imap_port, timeout=10)
        try:
            connection.login(user, self.passwords[user])
            _ok(connection.select(f'"{mailbox}"'))
            yield connection
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                connection.logout()

    def deliver(
        self,
        user: str,
        raw: bytes,
        *,
        flags: str = "",
        arrived: dt.datetime | None = None,
        mailbox: str = "INBOX",
    ) -> int:
        """Put a message in the mailbox (IMAP APPEND) and return its UID; `arrived` is its INTERNALDATE."""
        with self.session(user, mailbox) as connection:
            when = imaplib.Time2Internaldate(arrived or dt.datetime.now(dt.UTC))
            data = _ok(connection.append(f'"{mailbox}"', f"({flags})" if flags else None, when, raw))
        match = re.search(rb"APPENDUID \d+ (\d+)", data[-1])
        assert match, data
        return int(match.group(1))

    def flags(self, user: str, uid: int, mailbox: str = "INBOX") -> set[str]:
        with self.session(user, mailbox) as connection:
            data = _ok(connection.uid("FETCH", str(uid), "(FLAGS)"))
        match = re.search(rb"FLAGS \(([^)]*)\)", b" ".join(part for part in data if isinstance(part, bytes)))
        assert match, f"no message with UID {uid}: {data}"
        return set(match.group(1).decode().split())

    def set_flags(self, user: str, uid: int, flags: str, mailbox: str = "INBOX") -> None:
        """As a person's mail client would: e.g. r"\\Seen" when staff read the message."""
        with self.session(user, mailbox) as connection:
            _ok(connection.uid("STORE", str(uid), "+FLAGS", f"({flags})"))

    def expunge(self, user: str, uid: int, mailbox: str = "INBOX") -> None:
        with self.session(user, mailbox) as connection:
            _ok(connection.uid("STORE", str(uid), "+FLAGS", r"(\Deleted)"))
            _ok(connection.expunge())

    def kick(self, user: str) -> None:
        """Cut the user's open connections from the server side (`doveadm kick`), as an idle logout does."""
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        subprocess.run(
            [doveadm, "-c", str(self.directory / "dovecot.conf"), "kick", user],
            check=True,
            capture_output=True,
            timeout=10,
        )

    def empty(self, user: str, mailbox: str = "INBOX") -> None:
        with self.session(user, mailbox) as connection:
            if _ok(connection.uid("SEARCH", "ALL"))[0]:
                _ok(connection.store("1:*", "+FLAGS", r"(\Deleted)"))
                _ok(connection.expunge())


def _ok(response: tuple[str, list[Any]]) -> list[Any]:
    status, data = response
    assert status == "OK", (status, data)
    return data


_DOVECOT_CONF = """\
protocols = imap
listen = {host}
base_dir = {dir}/run
state_dir = {dir}/state
instance_name = certledger-test-{imap_port}
log_path = /dev/stderr
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = 1
disable_plaintext_auth = no
# Failed sign-ins are the point of some tests: no 2-second delay (below: no growing penalty either).
auth_failure_delay = 0
auth_mechanisms = {mechanisms}
{ssl}
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {dir}/passwd
}}
{oauth2_passdb}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={dir}/mail/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""

_OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {dir}/oauth2.conf.ext
}}
"""

_OAUTH2_CONF = """\
introspection_mode = post
introspection_url = {url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
"""


@contextlib.contextmanager
def dovecot(
    passwords: dict[str, str],
    *,
    tls: Certificates | None = None,
    introspection: Introspection | None = None,
    start_timeout: float = 15.0,
) -> Iterator[Dovecot]:
    """Run dovecot in the foreground with its own config, folders and free ports; stop it on exit.

    With `tls`: STARTTLS on the IMAP port and an IMAPS port. With `introspection`: XOAUTH2 and OAUTHBEARER
    through dovecot's oauth2 passdb asking that endpoint (passwords keep working beside it).
    """
    binary = dovecot_binary()
    if binary is None:
        raise RuntimeError("dovecot is not installed (Debian: apt-get install dovecot-imapd)")
    # Not under pytest's tmp_path: that is private to its owner (0700), and dovecot's mail processes run
    # as nobody. The mail folder and everything above it must be theirs to reach.
    directory = Path(tempfile.mkdtemp(prefix="certledger-dovecot-"))
    directory.chmod(0o755)
    process: subprocess.Popen[bytes] | None = None
    try:
        config, server = _write_dovecot_config(directory, passwords, tls, introspection)
        with server.log.open("wb") as log:
            process = subprocess.Popen(
                [binary, "-F", "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its own process group: stopped with all its children below
            )
        _wait_for_greeting(server, process, start_timeout)
        yield server
    finally:
        if process is not None:
            # The whole group at once: the master alone waits about a second for its children to go.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def _write_dovecot_config(
    directory: Path, passwords: dict[str, str], tls: Certificates | None, introspection: Introspection | None
) -> tuple[Path, Dovecot]:
    if os.geteuid() == 0:
        internal_user, login_user, mail_user, mail_group = "dovecot", "dovenull", "nobody", "nogroup"
    else:  # a developer's own account: dovecot then runs everything as that user
        me = pwd.getpwuid(os.geteuid())
        internal_user = login_user = mail_user = me.pw_name
        mail_group = str(me.pw_gid)
    mail = directory / "mail"
    mail.mkdir()
    if os.geteuid() == 0:
        shutil.chown(mail, mail_user, mail_group)
    (directory / "passwd").write_text("".join(f"{user}:{{PLAIN}}{pw}\n" for user, pw in passwords.items()))
    imap_port = free_port()
    imaps_port = free_port() if tls else 0
    mechanisms = "plain login"
    oauth2_passdb = ""
    if introspection is not None:
        mechanisms += " xoauth2 oauthbearer"
        oauth2_passdb = _OAUTH2_PASSDB.format(dir=directory)
        (directory / "oauth2.conf.ext").write_text(_OAUTH2_CONF.format(url=introspection.url))
    if tls is None:
        ssl_settings = "ssl = no"
    else:
        ssl_settings = f"ssl = yes\nssl_cert = <{tls.server_chain}\nssl_key = <{tls.server_key}"
        if Path("/usr/share/dovecot/dh.pem").exists():
            ssl_settings += "\nssl_dh = </usr/share/dovecot/dh.pem"
    config = directory / "dovecot.conf"
    config.write_text(
        _DOVECOT_CONF.format(
            host=LOOPBACK,
            dir=directory,
            imap_port=imap_port,
            imaps_port=imaps_port,
            internal_user=internal_user,
            login_user=login_user,
            mail_user=mail_user,
            mail_group=mail_group,
            mechanisms=mechanisms,
            ssl=ssl_settings,
            oauth2_passdb=oauth2_passdb,
        )
    )
    server = Dovecot(
        host=LOOPBACK,
        imap_port=imap_port,
        imaps_port=imaps_port or None,
        passwords=dict(passwords),
        directory=directory,
        log=directory / "dovecot.log",
    )
    return config, server


def _wait_for_greeting(server: Dovecot, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"dovecot exited with {process.returncode}:\n{server.log.read_text()}")
        try:
            with socket.create_connection((server.host, server.imap_port), timeout=1) as probe:
                if probe.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"dovecot did not answer within {timeout:g} s:\n{server.log.read_text()}")
        time.sleep(0.05)


@contextlib.contextmanager
def silent_server() -> Iterator[tuple[str, int]]:
    """A listener that accepts connections and never says a word: a hung server, for timeout tests."""
    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(8)  # the kernel completes the handshakes; nobody ever calls accept()
        yield LOOPBACK, listener.getsockname()[1]


# SMTP: aiosmtpd


@dataclass(frozen=True)
class Received:
    reverse_path: str  # the MAIL FROM argument as it came over the wire: "<>" for a null sender
    recipients: list[str]
    data: bytes  # the message after DATA, dot-unstuffed: what the server would store
    user: str | None  # who signed in on that connection


class _RecordingSMTP(SMTP):
    """aiosmtpd's server, remembering the literal MAIL FROM argument (its parser reports a null sender oddly)."""

    reverse_path = ""

    async def smtp_MAIL(self, arg: str | None) -> None:
        self.reverse_path = (arg or "").partition(":")[2].strip().split(" ")[0]
        await super().smtp_MAIL(arg)


class SmtpRecorder:
    """The aiosmtpd handler: checks passwords (PLAIN, LOGIN) and bearer tokens (XOAUTH2), records messages."""

    def __init__(self, passwords: dict[str, str], tokens: dict[str, str]) -> None:
        self.passwords = passwords
        self.tokens = tokens  # token -> user
        self.refused: set[str] = set()  # recipients answered "550 no such user"
        self.received: list[Received] = []
        self.sign_ins: list[tuple[str, str]] = []  # (mechanism, user) per successful sign-in

    async def handle_DATA(self, server: _RecordingSMTP, session: Any, envelope: Any) -> str:
        user = session.auth_data if isinstance(session.auth_data, str) else None
        if isinstance(session.auth_data, LoginPassword):
            user = session.auth_data.login.decode()
        self.received.append(
            Received(server.reverse_path, list(envelope.rcpt_tos), bytes(envelope.original_content), user)
        )
        return "250 OK: recorded"

    async def handle_RCPT(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        """PLAIN and LOGIN (aiosmtpd's authenticator hook)."""
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            if self.passwords.get(user) == password:
                self.sign_ins.append((mechanism, user))
                return AuthResult(success=True, auth_data=data)
        return AuthResult(success=False, handled=False)

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """XOAUTH2 as Gmail answers it: a refusal is a 334 challenge holding a JSON error, then 535."""
        if len(args) == 2:
            blob = args[1].encode()
        else:
            answer = await server.challenge_auth("")
            if not isinstance(answer, bytes):
                return AuthResult(success=False, handled=True)
            blob = base64.b64encode(answer)
        try:
            fields = dict(
                part.split("=", 1)
                for part in base64.b64decode(blob, validate=True).decode().split("\x01")
                if part
            )
        except ValueError:
            return AuthResult(
                success=False, handled=False, message="501 5.5.2 Cannot decode the XOAUTH2 response"
            )
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        if user and self.tokens.get(token) == user:
            self.sign_ins.append(("XOAUTH2", user))
            return AuthResult(success=True, auth_data=user)
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"})
        await server.challenge_auth(error)  # the client answers with an empty line
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and Password not accepted"
        )


class _Controller(Controller):
    """aiosmtpd's controller, listening on a port the kernel picks (no race) and using the recording server."""

    def __init__(self, handler: Any, *, auth_require_tls: bool, **options: Any) -> None:
        # aiosmtpd warns (an error under filterwarnings=error) when AUTH is allowed without STARTTLS, and
        # counts implicit TLS as no TLS: build with the quiet setting, then apply the one wanted.
        super().__init__(handler, auth_require_tls=True, **options)
        self.auth_require_tls = auth_require_tls
        self._connections: list[SMTP] = []

    def factory(self) -> SMTP:
        server = _RecordingSMTP(self.handler, **self.SMTP_kwargs)
        server._auth_require_tls = self.auth_require_tls
        self._connections.append(server)
        return server

    def stop(self, no_assert: bool = False) -> None:
        # aiosmtpd cancels its tasks but leaves open connections' transports behind (a ResourceWarning,
        # an error here): cut them first, in the server's own thread, as a crashing server would.
        def abort_connections() -> None:
            for server in self._connections:
                if server.transport is not None:
                    server.transport.abort()

        if self._thread is not None:
            self.loop.call_soon_threadsafe(abort_connections)
        super().stop(no_assert)

    def _trigger_server(self) -> None:
        if self.port == 0:
            assert self.server is not None
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class SmtpServer:
    host: str
    port: int
    security: Literal["plain", "starttls", "ssl"]
    recorder: SmtpRecorder
    controller: _Controller
    options: dict[str, Any]

    @property
    def received(self) -> list[Received]:
        return self.recorder.received

    def restart(self) -> None:
        """Stop and start again on the same port: every open connection is cut, as by a server restart."""
        self.controller.stop()
        # A stopped controller's event loop is closed: a new controller, same handler and port.
        self.controller = _Controller(self.recorder, hostname=self.host, port=self.port, **self.options)
        self.controller.start()


@contextlib.contextmanager
def smtp_server(
    security: Literal["plain", "starttls", "ssl"],
    *,
    tls: Certificates | None = None,
    passwords: dict[str, str] | None = None,
    tokens: dict[str, str] | None = None,
    auth_required: bool = True,
) -> Iterator[SmtpServer]:
    """aiosmtpd on a free port of 127.0.0.1: no TLS, STARTTLS required, or implicit TLS (port 465 style)."""
    if security != "plain" and tls is None:
        raise ValueError(f"{security} needs certificates")
    recorder = SmtpRecorder(dict(passwords or {}), dict(tokens or {}))
    options: dict[str, Any] = {
        "authenticator": recorder.authenticate,
        "auth_required": auth_required,
        # aiosmtpd counts only STARTTLS as TLS; on implicit TLS and on a plain test server, allow AUTH as is.
        "auth_require_tls": security == "starttls",
    }
    if security == "starttls":
        assert tls is not None
        options |= {"tls_context": tls.server_context(), "require_starttls": True}
    elif security == "ssl":
        assert tls is not None
        options["ssl_context"] = tls.server_context()
    controller = _Controller(recorder, hostname=LOOPBACK, port=0, **options)
    controller.start()
    server = SmtpServer(LOOPBACK, controller.port, security, recorder, controller, options)
    try:
        yield server
    finally:
        server.controller.stop()


def require_dovecot() -> None:
    if dovecot_binary() is None:
        unavailable("dovecot is not installed (apt-get install dovecot-imapd)")
