"""API tokens: only a SHA-256 of each token is stored, so a copy of the database grants nothing."""

import hashlib
import json
import secrets
import sqlite3

import aiosqlite
import msgspec

from service.ledger.database import Transaction

ROLES = ("admin", "facilitator", "intake")
LEVELS = ("central", "hub")


class TokenRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    role: str
    name: str
    email: str | None
    levels: tuple[str, ...]
    created_at: str
    revoked_at: str | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _record(row: aiosqlite.Row) -> TokenRecord:
    return TokenRecord(
        id=row["id"],
        role=row["role"],
        name=row["name"],
        email=row["email"],
        levels=tuple(json.loads(row["levels"])),
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


async def create_token(
    tx: Transaction, *, role: str, name: str, email: str | None, levels: tuple[str, ...]
) -> tuple[TokenRecord, str]:
    """Returns the record and the token itself, which is shown once and never stored."""
    token = f"cl_{secrets.token_urlsafe(32)}"
    await tx.conn.execute(
        "INSERT INTO tokens (token_hash, role, name, email, levels, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (hash_token(token), role, name, email, json.dumps(list(levels)), tx.now),
    )
    rows = await tx.conn.execute_fetchall("SELECT * FROM tokens WHERE token_hash = ?", (hash_token(token),))
    record = _record(rows[0])
    await tx.record(
        "token.created",
        f"token:{record.id}",
        {"role": role, "name": name, "email": email, "levels": list(levels)},
    )
    return record, token


def find_active_token(db: sqlite3.Connection, token: str) -> TokenRecord | None:
    """Runs on the event loop's own connection (Ledger.lookup): a unique-index lookup on every API call."""
    return find_active_token_by_hash(db, hash_token(token))


def find_active_token_by_hash(db: sqlite3.Connection, token_hash: str) -> TokenRecord | None:
    """The same lookup by the token's SHA-256 (what the portal's cookie holds, never the token): a revoked
    token is found no more, so it ends its API calls and its portal session alike."""
    row = db.execute(
        "SELECT * FROM tokens WHERE token_hash = ? AND revoked_at IS NULL", (token_hash,)
    ).fetchone()
    return _record(row) if row else None


async def list_tokens(conn: aiosqlite.Connection) -> list[TokenRecord]:
    return [_record(r) for r in await conn.execute_fetchall("SELECT * FROM tokens ORDER BY id")]


async def revoke_token(tx: Transaction, token_id: int) -> bool:
    active = await tx.conn.execute_fetchall(
        "SELECT id FROM tokens WHERE id = ? AND revoked_at IS NULL", (token_id,)
    )
    if not active:
        return False
    await tx.conn.execute("UPDATE tokens SET revoked_at = ? WHERE id = ?", (tx.now, token_id))
    await tx.record("token.revoked", f"token:{token_id}", {})
    return True
