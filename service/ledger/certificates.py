"""Issued certificates, their stored PDF bytes, revocations and supersession."""

import hashlib
import sqlite3

import aiosqlite
import msgspec

from service.certificates.content import CertificateContent
from service.ledger.database import Transaction
from service.rules.attendee_lists import email_key


class CertificateRecord(msgspec.Struct, frozen=True, kw_only=True):
    serial: str
    session_id: str
    email: str
    holder_name: str
    list_version: int
    supersedes: str | None
    superseded_by: str | None
    superseded_by_url: str | None
    issued_at: str
    verify_url: str
    content: CertificateContent
    pdf_sha256: str
    revoked_at: str | None
    revocation_reason: str | None

    @property
    def status(self) -> str:
        """As verification shows it: a replaced certificate is superseded even when it was revoked."""
        if self.superseded_by is not None:
            return "superseded"
        return "revoked" if self.revoked_at is not None else "valid"


class NewCertificate(msgspec.Struct, frozen=True, kw_only=True):
    content: CertificateContent
    session_id: str
    email: str
    list_version: int
    supersedes: str | None
    issued_at: str
    pdf: bytes


_SELECT = """
SELECT c.*, r.revoked_at, r.reason AS revocation_reason,
       n.serial AS superseded_by, n.verify_url AS superseded_by_url
FROM certificates c
LEFT JOIN revocations r ON r.serial = c.serial
LEFT JOIN certificates n ON n.supersedes = c.serial
"""

_content_decoder = msgspec.json.Decoder(CertificateContent)


def _record(row: aiosqlite.Row) -> CertificateRecord:
    return CertificateRecord(
        serial=row["serial"],
        session_id=row["session_id"],
        email=row["email"],
        holder_name=row["holder_name"],
        list_version=row["list_version"],
        supersedes=row["supersedes"],
        superseded_by=row["superseded_by"],
        superseded_by_url=row["superseded_by_url"],
        issued_at=row["issued_at"],
        verify_url=row["verify_url"],
        content=_content_decoder.decode(row["content"]),
        pdf_sha256=row["pdf_sha256"],
        revoked_at=row["revoked_at"],
        revocation_reason=row["revocation_reason"],
    )


async def insert_certificate(tx: Transaction, new: NewCertificate) -> None:
    content = new.content
    digest = hashlib.sha256(new.pdf).hexdigest()
    await tx.conn.execute(
        "INSERT INTO certificates (serial, session_id, email_key, email, holder_name, list_version,"
        " supersedes, issued_at, verify_url, content, pdf_sha256)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            content.serial,
            new.session_id,
            email_key(new.email),
            new.email,
            content.holder_name,
            new.list_version,
            new.supersedes,
            new.issued_at,
            content.verify_url,
            msgspec.json.encode(content).decode(),
            digest,
        ),
    )
    await tx.conn.execute(
        "INSERT INTO certificate_pdfs (serial, pdf) VALUES (?, ?)", (content.serial, new.pdf)
    )
    await tx.record(
        "certificate.issued",
        f"certificate:{content.serial}",
        {
            "session_id": new.session_id,
            "email": new.email,
            "issued_at": new.issued_at,
            "list_version": new.list_version,
            "supersedes": new.supersedes,
            "content": msgspec.to_builtins(content),
            "pdf_sha256": digest,
        },
    )


async def get_certificate(db: aiosqlite.Connection, serial: str) -> CertificateRecord | None:
    rows = await db.execute_fetchall(_SELECT + " WHERE c.serial = ?", (serial,))
    return _record(rows[0]) if rows else None


async def get_certificates(db: aiosqlite.Connection, serials: list[str]) -> dict[str, CertificateRecord]:
    """Many certificates in one query each 500 (a listing must not read them one by one)."""
    found: dict[str, CertificateRecord] = {}
    unique = list(dict.fromkeys(serials))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = await db.execute_fetchall(f"{_SELECT} WHERE c.serial IN ({marks})", chunk)
        found.update((r["serial"], _record(r)) for r in rows)
    return found


def lookup_certificate(db: sqlite3.Connection, serial: str) -> CertificateRecord | None:
    """get_certificate on the event loop's own connection (Ledger.lookup): public verification's hot path."""
    row = db.execute(_SELECT + " WHERE c.serial = ?", (serial,)).fetchone()
    return _record(row) if row else None


def find_by_pdf_sha256(db: sqlite3.Connection, digest: str) -> CertificateRecord | None:
    """The certificate whose stored PDF has this SHA-256 (hex), on the lookup connection: an indexed
    single-row read. The first issued when, impossibly, two stored files were the same."""
    row = db.execute(_SELECT + " WHERE c.pdf_sha256 = ? ORDER BY c.issued_at LIMIT 1", (digest,)).fetchone()
    return _record(row) if row else None


def get_pdf(db: sqlite3.Connection, serial: str) -> bytes | None:
    """On the lookup connection: one row by its key, a 20 KB blob read in microseconds."""
    row = db.execute(
        "SELECT CAST(pdf AS BLOB) AS pdf FROM certificate_pdfs WHERE serial = ?", (serial,)
    ).fetchone()
    return bytes(row["pdf"]) if row else None


class ListedCertificate(msgspec.Struct, frozen=True, kw_only=True):
    record: CertificateRecord
    # A later list version no longer makes the holder eligible: staff decide whether to revoke.
    needs_review: bool


_LISTING = """
WITH chosen AS (
    SELECT c.*,
           (SELECT MAX(v.version) FROM list_versions v WHERE v.session_id = c.session_id) AS latest_version
    FROM certificates c
    WHERE {where}
)
SELECT chosen.*, r.revoked_at, r.reason AS revocation_reason,
       n.serial AS superseded_by, n.verify_url AS superseded_by_url,
       a.core_trained AS now_core_trained, a.full_participation AS now_full_participation
FROM chosen
LEFT JOIN revocations r ON r.serial = chosen.serial
LEFT JOIN certificates n ON n.supersedes = chosen.serial
LEFT JOIN attendees a
  ON a.session_id = chosen.session_id AND a.version = chosen.latest_version
 AND a.email_key = chosen.email_key
ORDER BY chosen.issued_at
"""


async def certificates_for(
    db: aiosqlite.Connection, *, email: str | None = None, session_id: str | None = None
) -> list[ListedCertificate]:
    """A person's or a session's certificates, each flagged when the latest list no longer backs it."""
    if email is not None:
        where, param = "c.email_key = ?", email_key(email)
    else:
        where, param = "c.session_id = ?", session_id
    rows = await db.execute_fetchall(_LISTING.format(where=where), (param,))
    return [
        ListedCertificate(
            record=_record(r),
            needs_review=r["latest_version"] > r["list_version"]
            and not (r["now_core_trained"] and r["now_full_participation"]),
        )
        for r in rows
    ]


async def revoke_certificate(tx: Transaction, serial: str, reason: str) -> CertificateRecord | None:
    """Revoke a certificate; the first revocation stands (revoking again changes nothing). Returns the
    certificate as it now is, or None when there is no such certificate."""
    found = await get_certificate(tx.conn, serial)
    if found is None or found.revoked_at is not None:
        return found
    version = await tx.conn.execute_fetchall(
        "SELECT COALESCE(MAX(version), 0) AS v FROM list_versions WHERE session_id = ?", (found.session_id,)
    )
    await tx.conn.execute(
        "INSERT INTO revocations (serial, revoked_at, reason, revoked_by, list_version_at_revocation)"
        " VALUES (?, ?, ?, ?, ?)",
        (serial, tx.now, reason, tx.actor, version[0]["v"]),
    )
    await tx.record(
        "certificate.revoked",
        f"certificate:{serial}",
        {"reason": reason, "list_version_at_revocation": version[0]["v"]},
    )
    return await get_certificate(tx.conn, serial)
