"""The certledger command: serve the API, and the staff's tools on the ledger (tokens, revocation)."""

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence

from service.certificates.links import normalize_serial
from service.ledger.certificates import revoke_certificate
from service.ledger.database import Ledger, LedgerUnavailable
from service.ledger.tokens import LEVELS, ROLES, create_token, list_tokens, revoke_token
from service.rules.wording import clean_text
from service.settings import Settings, SettingsError, load_settings


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from service.app import create_app

    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info", access_log=False)
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
    return parser


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
