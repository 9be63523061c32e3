"""The intake's command line (SPEC §4 fixes its flags): wiring, not logic.

Exit status with --once: 0 when every message was handled, 1 when any was left for a retry (the API or
a mail server unavailable), 2 for a usage or configuration error; always a plain sentence, never a
traceback, never a password or token.
"""

import argparse
import email.utils
import hashlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from service.intake.client import Api, ApiMisconfigured
from service.intake.mailboxes import MailboxError, open_mailbox
from service.intake.oauth import OAuthError
from service.intake.replies import Replies, Sender
from service.intake.run import Intake, PassReport
from service.intake.state import IntakeState, StateError
from service.intake.transport import Transport, TransportError, outbox_transport, smtp_transport

log = logging.getLogger("certledger.intake")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intake.py",
        description="Read certificate-request emails, ask the certledger API, and reply to each once.",
    )
    parser.add_argument(
        "--api",
        default=os.environ.get("CERTLEDGER_BASE_URL", "http://127.0.0.1:8000"),
        metavar="URL",
        help="the service's base URL (default: CERTLEDGER_BASE_URL or http://127.0.0.1:8000)",
    )
    parser.add_argument("--token", help="an intake (or admin) token; or CERTLEDGER_INTAKE_TOKEN")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--maildir", type=Path, metavar="PATH", help="read new messages from a Maildir")
    source.add_argument(
        "--imap",
        metavar="URL",
        help="imap://user@host:port/MAILBOX or imaps://…; password from CERTLEDGER_IMAP_PASSWORD",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--smtp",
        metavar="HOST:PORT",
        help="send replies over SMTP; user and password from CERTLEDGER_SMTP_USER / CERTLEDGER_SMTP_PASSWORD",
    )
    target.add_argument(
        "--outbox", type=Path, metavar="PATH", help="write each reply into this Maildir instead"
    )
    security = parser.add_mutually_exclusive_group()
    security.add_argument(
        "--smtp-starttls", action="store_true", help="upgrade the SMTP connection with STARTTLS"
    )
    security.add_argument("--smtp-ssl", action="store_true", help="SMTP over implicit TLS (port 465)")
    parser.add_argument(
        "--auth",
        choices=("password", "xoauth2"),
        default="password",
        help="xoauth2: sign in to IMAP and SMTP with a token printed by CERTLEDGER_OAUTH2_TOKEN_COMMAND",
    )
    parser.add_argument(
        "--from", dest="from_address", required=True, metavar="ADDRESS", help="the From of replies"
    )
    parser.add_argument(
        "--once", action="store_true", help="process what is there and exit (default: keep polling)"
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=os.environ.get("CERTLEDGER_INTAKE_STATE"),
        metavar="PATH",
        help="what the intake remembers between runs (default: CERTLEDGER_INTAKE_STATE, else "
        "<maildir>/.certledger-intake.sqlite3 for a Maildir, or a file per IMAP mailbox under "
        "$XDG_STATE_HOME/certledger or ~/.local/state/certledger)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="seconds between passes when polling (60)",
    )
    parser.add_argument(
        "--issuer",
        default=os.environ.get("CERTLEDGER_ISSUER_NAME", "IPS Central"),
        help="the name replies are signed with (default: CERTLEDGER_ISSUER_NAME or IPS Central)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    # One line per message: the HTTP client's own request lines would add several.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    token = args.token or os.environ.get("CERTLEDGER_INTAKE_TOKEN")
    if not token:
        parser.error("give an intake token with --token or CERTLEDGER_INTAKE_TOKEN")
    _, from_address = email.utils.parseaddr(args.from_address)
    if "@" not in from_address or any(c.isspace() for c in from_address):
        parser.error("--from must be an email address, e.g. info@ipscentral.example")
    args.from_address = from_address.lower()
    if args.state is None:
        args.state = default_state_path(args.maildir, args.imap)
    smtp = None
    if args.smtp:
        host, _, port = args.smtp.rpartition(":")
        if not host or not port.isdigit():
            parser.error("--smtp must be HOST:PORT, e.g. smtp.example.org:587")
        smtp = (host, int(port))
    stopping = threading.Event()
    # A service manager stops the intake with SIGTERM: finish the pass under way (a message between
    # its reply and its record would be answered twice), then exit.
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        while True:
            report = _one_pass(args, token, smtp)
            if args.once:
                return 0 if report.retry == 0 else 1
            if stopping.wait(args.interval):
                return 0
    except KeyboardInterrupt:
        return 130


def default_state_path(maildir: Path | None, imap_url: str | None) -> Path:
    """The state belongs to the mailbox, not to the directory the intake happens to be started in: a
    second mailbox must not share the first one's memory, and a lost state means answering again."""
    if maildir is not None:
        # A dot-file in the Maildir's top folder: mail readers look only in new/, cur/ and tmp/.
        return maildir / ".certledger-intake.sqlite3"
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "certledger"
    digest = hashlib.sha256((imap_url or "").encode()).hexdigest()[:16]
    return base / f"intake-{digest}.sqlite3"


def _one_pass(args: argparse.Namespace, token: str, smtp: tuple[str, int] | None) -> PassReport:
    """Fresh connections each pass: XOAUTH2 tokens expire within the hour."""
    xoauth2 = args.auth == "xoauth2"
    try:
        state = IntakeState(args.state)
    except StateError as exc:
        log.error("%s", exc)
        return PassReport(retry=1)
    api = Api(args.api, token)
    mailbox = transport = None
    try:
        mailbox = open_mailbox(
            maildir=args.maildir,
            imap_url=args.imap,
            password=os.environ.get("CERTLEDGER_IMAP_PASSWORD"),
            xoauth2=xoauth2,
        )
        transport = _transport(args, smtp, xoauth2)
        intake = Intake(
            api=api,
            mailbox=mailbox,
            transport=transport,
            state=state,
            replies=Replies(Sender(address=args.from_address, issuer=args.issuer)),
            own_addresses=frozenset({args.from_address.lower()}),
        )
        with state.exclusive():
            report = intake.run_once()
        log.info(
            "pass done: %d answered, %d follow-ups, %d left for staff, %d automatic, %d quiet, %d to retry",
            report.answered,
            report.follow_ups,
            report.left,
            report.automatic,
            report.quiet,
            report.retry,
        )
        return report
    except (MailboxError, TransportError, OAuthError, ApiMisconfigured, StateError) as exc:
        log.error("%s; nothing was lost, the next run tries again", exc)
        return PassReport(retry=1)
    finally:
        for part in (transport, mailbox, api, state):
            if part is not None:
                part.close()


def _transport(args: argparse.Namespace, smtp: tuple[str, int] | None, xoauth2: bool) -> Transport:
    if smtp is None:
        return outbox_transport(args.outbox)
    security = "ssl" if args.smtp_ssl else "starttls" if args.smtp_starttls else "plain"
    return smtp_transport(
        host=smtp[0],
        port=smtp[1],
        security=security,
        user=os.environ.get("CERTLEDGER_SMTP_USER"),
        password=os.environ.get("CERTLEDGER_SMTP_PASSWORD"),
        xoauth2=xoauth2,
    )
