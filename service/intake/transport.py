"""Sending replies: over SMTP, or as files into an outbox Maildir, behind one small interface.

Replies go out with a null envelope sender (`MAIL FROM:<>`, RFC 3834 §4 and RFC 5321 §4.5.5), so a bounce
of a reply is never delivered back to the intake to start a loop. SMTP signs in with a password or with
XOAUTH2 (a fresh token per connection: tokens expire within the hour). One connection serves many replies;
when the server dropped it in between, the next reply opens a new one. The outbox holds exactly the bytes
an SMTP server would have received, so tests and dry runs parse the same thing.

Every failure becomes `TransportError` with one plain sentence, never a password or a token in it.
"""

import contextlib
import copy
import email.generator
import email.message
import io
import mailbox
import smtplib
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol

from service.intake.oauth import OAuthError, fetch_access_token, xoauth2_string

Security = Literal["plain", "starttls", "ssl"]


class TransportError(Exception):
    """A reply could not be sent; the message is a sentence for the operator. `permanent`: the server
    refused this reply for good (a 5xx for its recipient or content); trying again will not help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Transport(Protocol):
    def send(self, message: email.message.EmailMessage, recipients: list[str]) -> None:
        """Deliver one message to the envelope recipients, or raise TransportError."""
        ...

    def close(self) -> None: ...


def smtp_transport(
    *,
    host: str,
    port: int,
    security: Security,
    user: str | None,
    password: str | None,
    xoauth2: bool,
    timeout: float = 30.0,
) -> Transport:
    """An SMTP client that connects on the first reply and keeps the connection for the next ones.

    `plain` is SMTP without TLS (a relay on the same host); `starttls` requires the server to offer it;
    `ssl` is implicit TLS (port 465). Certificates are verified against the system's CAs, or
    `SSL_CERT_FILE` / `SSL_CERT_DIR` when set.
    """
    if security not in ("plain", "starttls", "ssl"):
        raise TransportError(f"unknown SMTP security {security!r}: plain, starttls or ssl")
    if xoauth2 and not user:
        raise TransportError("XOAUTH2 signs in as a user: set CERTLEDGER_SMTP_USER")
    if not xoauth2 and bool(user) != bool(password):
        raise TransportError("set both CERTLEDGER_SMTP_USER and CERTLEDGER_SMTP_PASSWORD, or neither")
    return SmtpTransport(
        host=host,
        port=port,
        security=security,
        user=user,
        password=password,
        xoauth2=xoauth2,
        timeout=timeout,
    )


def outbox_transport(path: Path) -> Transport:
    """Write each reply into the Maildir at `path` (created when missing) instead of sending it."""
    return OutboxTransport(path)


def wire_bytes(message: email.message.EmailMessage, recipients: list[str]) -> bytes:
    """The message exactly as `smtplib.SMTP.send_message` hands it to the server (after DATA's dot-unstuffing).

    Same steps as the standard library: Bcc removed, the message's own policy with CRLF line ends, UTF-8
    headers only when an address needs SMTPUTF8, and a final CRLF.
    """
    stripped = copy.copy(message)
    del stripped["Bcc"]
    del stripped["Resent-Bcc"]
    international = not all(address.isascii() for address in recipients)
    with io.BytesIO() as buffer:
        policy = message.policy.clone(utf8=True) if international else None
        email.generator.BytesGenerator(buffer, policy=policy).flatten(stripped, linesep="\r\n")
        data = buffer.getvalue()
    return data if data.endswith(b"\r\n") else data + b"\r\n"


class SmtpTransport:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: Security,
        user: str | None,
        password: str | None,
        xoauth2: bool,
        timeout: float,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self._user = user
        self._password = password
        self._xoauth2 = xoauth2
        self._timeout = timeout
        self._connection: smtplib.SMTP | None = None

    @property
    def server(self) -> str:
        return f"the SMTP server at {self.host}:{self.port}"

    def send(self, message: email.message.EmailMessage, recipients: list[str]) -> None:
        if not recipients:
            raise TransportError("a reply needs at least one recipient")
        connection = self._ready()
        try:
            # from_addr="" is the null reverse-path: smtplib sends MAIL FROM:<>.
            refused = connection.send_message(message, from_addr="", to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            permanent = all(code >= 500 for code, _ in exc.recipients.values())
            raise TransportError(
                f"{self.server} refused {_refusals(exc.recipients)}", permanent=permanent
            ) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            # smtplib already reset the transaction: the connection stays usable for the next reply.
            raise TransportError(
                f"{self.server} refused the message: {_reply(exc)}", permanent=exc.smtp_code >= 500
            ) from None
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:
            self._drop()
            raise TransportError(self._describe(exc)) from None
        if refused:
            # Accepted for some, refused for others: say so rather than pretend it went out (our replies
            # have one recipient, so this is permanent for the ones refused).
            raise TransportError(
                f"{self.server} refused {_refusals(refused)} (the others were sent)", permanent=True
            )

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.quit()
            connection.close()

    def _ready(self) -> smtplib.SMTP:
        """The open connection if it still answers, otherwise a new one.

        NOOP first rather than retrying a failed send: a connection lost after the server took the
        message would otherwise send that reply twice.
        """
        if self._connection is not None:
            try:
                code, _ = self._connection.noop()
                if code == 250:
                    return self._connection
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()
        self._connection = self._connect()
        return self._connection

    def _connect(self) -> smtplib.SMTP:
        # A fresh default context per connection: it reads SSL_CERT_FILE / SSL_CERT_DIR as they are now.
        context = ssl.create_default_context()
        try:
            if self.security == "ssl":
                connection = smtplib.SMTP_SSL(self.host, self.port, timeout=self._timeout, context=context)
            else:
                connection = smtplib.SMTP(self.host, self.port, timeout=self._timeout)
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(self._describe(exc)) from None
        try:
            connection.ehlo()
            if self.security == "starttls":
                if not connection.has_extn("starttls"):
                    raise TransportError(f"{self.server} does not offer STARTTLS")
                connection.starttls(context=context)
                connection.ehlo()
            self._sign_in(connection)
        except TransportError:
            connection.close()
            raise
        except (smtplib.SMTPException, OSError) as exc:
            connection.close()
            raise TransportError(self._describe(exc)) from None
        return connection

    def _sign_in(self, connection: smtplib.SMTP) -> None:
        user = self._user
        try:
            if self._xoauth2:
                assert user is not None
                sasl = xoauth2_string(user, fetch_access_token())
                connection.auth("XOAUTH2", _answer_once(sasl), initial_response_ok=True)
            elif user and self._password:
                connection.login(user, self._password)
        except OAuthError as exc:
            raise TransportError(f"cannot sign in to {self.server}: {exc}") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportError(f"{self.server} refused the sign-in of {user}: {_reply(exc)}") from None
        except smtplib.SMTPNotSupportedError:
            raise TransportError(f"{self.server} offers no sign-in (AUTH) on this connection") from None
        except UnicodeEncodeError:
            raise TransportError("smtplib sends user names and passwords in ASCII only") from None

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _describe(self, exc: BaseException) -> str:
        server = self.server
        if isinstance(exc, ConnectionRefusedError):
            return f"could not connect to {server}: connection refused"
        # smtplib turns a timeout while waiting for a reply into SMTPServerDisconnected: look underneath.
        if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
            return f"{server} did not answer within {self._timeout:g} seconds"
        if isinstance(exc, socket.gaierror):
            return f"could not find {server}: {exc.strerror}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return f"{server} presented a certificate that could not be verified: {exc.verify_message}"
        if isinstance(exc, ssl.SSLError):
            return f"TLS with {server} failed: {exc.reason or exc}"
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return f"{server} closed the connection"
        if isinstance(exc, smtplib.SMTPResponseException):
            return f"{server} answered {_reply(exc)}"
        if isinstance(exc, OSError):
            return f"lost the connection to {server}: {exc.strerror or type(exc).__name__}"
        return f"{server} could not take the message: {exc}"


class OutboxTransport:
    def __init__(self, path: Path) -> None:
        try:
            for folder in ("tmp", "new", "cur"):
                (path / folder).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransportError(f"cannot create the outbox Maildir {path}: {exc.strerror}") from None
        self.path = path
        self._maildir = mailbox.Maildir(path, create=False)

    def send(self, message: email.message.EmailMessage, recipients: list[str]) -> None:
        if not recipients:
            raise TransportError("a reply needs at least one recipient")
        try:
            # Bytes go in unchanged (mailbox only rewrites "\n", the local line end, to itself).
            self._maildir.add(wire_bytes(message, recipients))
        except OSError as exc:
            raise TransportError(f"cannot write into the outbox {self.path}: {exc.strerror}") from None

    def close(self) -> None:
        pass


def _answer_once(response: str) -> Callable[..., str]:
    """XOAUTH2's one client message, sent with AUTH. A refusal comes as a challenge holding a JSON error
    (Google's and Microsoft's way): answered with an empty line, the server then says 535."""
    answered = False

    def answer(_challenge: bytes | None = None) -> str:
        nonlocal answered
        if answered:
            return ""
        answered = True
        return response

    return answer


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
    return f"{exc.smtp_code} {' '.join(str(text).split())[:200]}"


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{address} ({code} {' '.join(reason.decode('utf-8', 'replace').split())[:200]})"
        for address, (code, reason) in refused.items()
    )
