"""The certledger command: serve the API, and the staff's tools on the ledger (tokens, revocation, export)."""

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from service.certificates.links import normalize_serial
from service.ledger.audit import AuditReport, audit
from service.ledger.backup import BackupError, backup
from service.ledger.certificates import revoke_certificate
from service.ledger.database import Ledger, LedgerUnavailable
from service.ledger.exports import AttendanceRow, attendance, organizations
from service.ledger.tokens import LEVELS, ROLES, create_token, list_tokens, revoke_token
from service.portal.export import attendance_csv
from service.portal.session_filters import parse_date
from service.rules.wording import clean_text
from service.settings import Settings, SettingsError, load_settings


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from service.app import create_app

    if args.workers < 1:
        print("certledger: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers == 1:
        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info", access_log=False)
        return 0
    # Each worker process builds its own app from the same environment (the settings were checked above,
    # and the key file, if generated, exists by now): one SQLite file, writers serialised by its lock.
    uvicorn.run(
        "service.app:app_from_environment",
        factory=True,
        workers=args.workers,
        host=args.host,
        port=args.port,
        log_level="info",
        access_log=False,
    )
    return 0


async def _with_ledger(settings: Settings, job: Callable[[Ledger], Awaitable[int]]) -> int:
    ledger = Ledger(settings.db_path, settings.ledger_key)
    await ledger.open()
    try:
        return await job(ledger)
    finally:
        await ledger.close()


def _token_create(args: argparse.Namespace, settings: Settings) -> int:
    levels = tuple(dict.fromkeys(args.level or (["hub"] if args.role == "facilitator" else [])))
    if args.role == "admin":
        levels = LEVELS
    if not args.name.strip():
        print("certledger: --name must not be empty", file=sys.stderr)
        return 2

    async def job(ledger: Ledger) -> int:
        async with ledger.write("cli") as tx:
            record, token = await create_token(
                tx, role=args.role, name=args.name.strip(), email=args.email, levels=levels
            )
        print(token)
        print(
            f"token {record.id} for {record.name} ({record.role}"
            + (f"; levels: {', '.join(record.levels)}" if record.role == "facilitator" else "")
            + "). It is shown only now: store it safely.",
            file=sys.stderr,
        )
        return 0

    return asyncio.run(_with_ledger(settings, job))


def _token_list(args: argparse.Namespace, settings: Settings) -> int:
    async def job(ledger: Ledger) -> int:
        async with ledger.read() as db:
            records = await list_tokens(db)
        print(f"{'id':>4}  {'role':<11} {'levels':<13} {'created':<20} {'status':<8} name")
        for r in records:
            status = "revoked" if r.revoked_at else "active"
            print(
                f"{r.id:>4}  {r.role:<11} {','.join(r.levels):<13} {r.created_at[:19]:<20} "
                f"{status:<8} {r.name}{f' <{r.email}>' if r.email else ''}"
            )
        return 0

    return asyncio.run(_with_ledger(settings, job))


def _token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    async def job(ledger: Ledger) -> int:
        async with ledger.write("cli") as tx:
            done = await revoke_token(tx, args.id)
        if not done:
            print(f"certledger: no active token with id {args.id}", file=sys.stderr)
            return 1
        print(f"token {args.id} revoked")
        return 0

    return asyncio.run(_with_ledger(settings, job))


def _revoke(args: argparse.Namespace, settings: Settings) -> int:
    reason = clean_text(args.reason)
    if not reason:
        print("certledger: --reason must say why (it is shown on the verification page)", file=sys.stderr)
        return 2

    async def job(ledger: Ledger) -> int:
        serial = normalize_serial(args.serial)
        async with ledger.write("cli") as tx:
            revoked = await revoke_certificate(tx, serial, reason)
        if revoked is None:
            print(f"certledger: there is no certificate {serial}", file=sys.stderr)
            return 1
        print(f"certificate {serial} revoked at {revoked.revoked_at}: {revoked.revocation_reason}")
        return 0

    return asyncio.run(_with_ledger(settings, job))


def _export(args: argparse.Namespace, settings: Settings) -> int:
    """The portal's CSV (service/portal/export.py), to stdout or a file. It only reads: a CERTLEDGER_DB
    that names no file is a mistake (a typo, another directory), not an empty ledger to create."""
    organization = clean_text(args.organization)
    first, last = parse_date(args.first), parse_date(args.last)
    for flag, value, day in (("--from", args.first, first), ("--to", args.last, last)):
        if day is None:
            print(f"certledger: {flag} {value!r} is not a date; write it as YYYY-MM-DD", file=sys.stderr)
            return 2
    assert first is not None and last is not None
    if not organization:
        print("certledger: --organization must name the contracting organization", file=sys.stderr)
        return 2
    if first > last:
        print(f"certledger: --from {first} is after --to {last}; nothing to export", file=sys.stderr)
        return 2
    if not settings.db_path.is_file():
        print(
            f"certledger: there is no database at {settings.db_path}; set CERTLEDGER_DB to the ledger's "
            "file (export only reads, it creates none)",
            file=sys.stderr,
        )
        return 2
    found: list[AttendanceRow] = []
    known: list[str] = []

    async def job(ledger: Ledger) -> int:
        async with ledger.read() as db:
            found.extend(await attendance(db, organization, first, last))
            known.extend(await organizations(db))
        return 0

    asyncio.run(_with_ledger(settings, job))
    data = attendance_csv(found)
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        try:
            Path(args.output).write_bytes(data)
        except OSError as exc:
            print(f"certledger: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    sessions = len({r.session_id for r in found})
    note = f"{len(found)} row{'s' * (len(found) != 1)} from {sessions} session{'s' * (sessions != 1)}"
    if not found:
        note += f" (no session of {organization!r} with a list from {first} to {last}"
        note += f"; organizations known: {', '.join(known)})" if known else ")"
    print(f"certledger: {note}" + (f", written to {args.output}" if args.output else ""), file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="certledger",
        description="Certificate and attendance ledger for IPS co-reflection sessions. "
        "Configuration comes from CERTLEDGER_* environment variables (see the README).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP API (creates and migrates the database)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes sharing the port and the database (default 1)",
    )
    serve.set_defaults(run=_serve)

    token = commands.add_parser("token", help="create, list and revoke API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_commands.add_parser(
        "create", help="create a token; it is printed once, only its hash is kept"
    )
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--name", required=True, help="who holds it, e.g. the facilitator's name")
    create.add_argument("--email", help="the holder's email, for staff's reference")
    create.add_argument(
        "--level",
        action="append",
        choices=LEVELS,
        help="session level a facilitator may register; repeat for both (default: hub only)",
    )
    create.set_defaults(run=_token_create)
    listing = token_commands.add_parser("list", help="list tokens (never the tokens themselves)")
    listing.set_defaults(run=_token_list)
    revoke_tok = token_commands.add_parser("revoke", help="revoke a token by its id")
    revoke_tok.add_argument("id", type=int)
    revoke_tok.set_defaults(run=_token_revoke)

    revoke = commands.add_parser("revoke", help="revoke a certificate; it stays verifiable, shown as revoked")
    revoke.add_argument("serial")
    revoke.add_argument("--reason", required=True, help="why; shown on the verification page")
    revoke.set_defaults(run=_revoke)

    export = commands.add_parser(
        "export",
        help="export attendance and certificates of an organization's sessions as CSV",
        description="One CSV row per attendee per session of the organization dated --from to --to "
        "(inclusive): the latest list's attendees with their certificate's serial, status and issue "
        "time; the same file as the portal's staff export. UTF-8 with a byte-order mark.",
    )
    export.add_argument(
        "--organization", required=True, help="contracting organization (capitals do not matter)"
    )
    export.add_argument(
        "--from", dest="first", required=True, metavar="YYYY-MM-DD", help="first session date"
    )
    export.add_argument("--to", dest="last", required=True, metavar="YYYY-MM-DD", help="last session date")
    export.add_argument("--output", metavar="PATH", help="write the CSV here instead of to standard output")
    export.set_defaults(run=_export)

    audit_command = commands.add_parser(
        "audit",
        help="check the ledger proves itself: the keyed event chain, state against events, PDF digests",
        description="Checks the keyed hash chain of events (with CERTLEDGER_LEDGER_KEY), that every "
        "session, list version, certificate, revocation, request and token agrees with its events, and "
        "every stored PDF's digest. Prints the first problem and exits 1; exits 0 when all holds.",
    )
    audit_command.set_defaults(run=_audit)

    backup_command = commands.add_parser(
        "backup",
        help="an online, integrity-checked copy of the database (keys are configuration: not in it)",
        description="Copies the database while the service runs (one consistent moment), checks the copy "
        "and only then gives it the name PATH. Back up CERTLEDGER_SECRET_KEYS and CERTLEDGER_LEDGER_KEY "
        "apart: without them no certificate verifies and the chain cannot be checked.",
    )
    backup_command.add_argument(
        "path", type=Path, metavar="PATH", help="the new backup file (must not exist)"
    )
    backup_command.set_defaults(run=_backup)
    return parser


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.db_path.exists():
        print(f"certledger: there is no database at {settings.db_path} (CERTLEDGER_DB)", file=sys.stderr)
        return 2
    report = AuditReport()
    problem = next(audit(settings.db_path, settings.ledger_key, report), None)
    if problem is not None:
        print(f"audit failed at {problem}", file=sys.stderr)
        return 1
    print(
        f"audit passed: {report.events} events chained; {report.sessions} sessions, {report.list_versions} "
        f"list versions, {report.certificates} certificates, {report.revocations} revocations and "
        f"{report.requests} requests agree with them"
    )
    return 0


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    try:
        made = backup(settings.db_path, args.path)
    except BackupError as exc:
        print(f"certledger: {exc}", file=sys.stderr)
        return 1
    print(
        f"backed up to {made.path} ({made.bytes} bytes; {made.events} events, {made.certificates} "
        "certificates; integrity checked). Keep the keys apart from it."
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        return args.run(args, settings)
    except SettingsError as exc:
        print(f"certledger: {exc}", file=sys.stderr)
        return 2
    except LedgerUnavailable as exc:
        print(f"certledger: the database cannot be written ({exc}); nothing was changed", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
