"""What the ledger already knows about the people in an attendance report (SPEC §6): the name an earlier
list gave each email, and whether a list holds them as core-trained.

"Earlier lists" are the latest version of every session's list (this session's included): a later
version corrects an earlier one, so a name or a core-training flag it took back no longer counts.
"""

import json
from collections.abc import Iterable

import aiosqlite
import msgspec

from service.rules.attendee_lists import email_key


class KnownAttendee(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # as the most recently submitted list gave it
    core_trained: bool  # on any session's current list


# One pass over the attendees_email index per email (json_each feeds the set as one parameter); the
# latest version of each session is a seek on list_versions' primary key.
_KNOWN = """
SELECT email_key, name, core_trained FROM (
    SELECT a.email_key, a.name,
           MAX(a.core_trained) OVER (PARTITION BY a.email_key) AS core_trained,
           ROW_NUMBER() OVER (
               PARTITION BY a.email_key ORDER BY v.submitted_at DESC, a.session_id DESC
           ) AS newest
    FROM attendees a
    JOIN list_versions v ON v.session_id = a.session_id AND v.version = a.version
    WHERE a.email_key IN (SELECT value FROM json_each(:emails))
      AND a.version = (SELECT MAX(l.version) FROM list_versions l WHERE l.session_id = a.session_id)
)
WHERE newest = 1
"""


async def known_attendees(db: aiosqlite.Connection, emails: Iterable[str]) -> dict[str, KnownAttendee]:
    """By email key (trimmed, lower case), the people among `emails` that a current list holds."""
    keys = sorted({email_key(e) for e in emails})
    if not keys:
        return {}
    rows = await db.execute_fetchall(_KNOWN, {"emails": json.dumps(keys)})
    return {r["email_key"]: KnownAttendee(name=r["name"], core_trained=bool(r["core_trained"])) for r in rows}


async def owner_facilitator_email(db: aiosqlite.Connection, token_id: int | None) -> str | None:
    """The email staff recorded for the facilitator token that registered a session, if any."""
    if token_id is None:
        return None
    rows = await db.execute_fetchall(
        "SELECT email FROM tokens WHERE id = ? AND role = 'facilitator'", (token_id,)
    )
    return rows[0]["email"] if rows and rows[0]["email"] else None
