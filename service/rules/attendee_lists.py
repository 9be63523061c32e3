"""Rules an attendee list must keep before it is stored."""

import unicodedata
from collections.abc import Sequence


def email_key(email: str) -> str:
    """Emails compare case-insensitively after trimming (SPEC §3), in one Unicode spelling (NFC)."""
    return unicodedata.normalize("NFC", email.strip()).lower()


def duplicate_email_rows(emails: Sequence[str]) -> list[tuple[int, int]]:
    """(row, earlier row) pairs, 0-based, where an email repeats (case and spaces do not count)."""
    seen: dict[str, int] = {}
    duplicates = []
    for row, email in enumerate(emails):
        key = email_key(email)
        if key in seen:
            duplicates.append((row, seen[key]))
        else:
            seen[key] = row
    return duplicates
