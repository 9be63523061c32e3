"""Rules an attendee list must keep before it is stored."""

import re
import unicodedata
from collections.abc import Sequence

# What an attendee's email must look like (the API's Email field is built from it, so the portal and the
# report import keep the same rule): a dot-atom local part (no leading, trailing or double dots; none of
# <>()[]\,;:" that pasting from a mail client leaves behind) and a domain of labels that neither start nor
# end with a hyphen, ending in a top-level domain of letters. Surrounding spaces are allowed (trimmed).
_LOCAL_CHAR = r"[^\s@<>()\[\]\\,;:\".\u0000-\u001f\u007f]"
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
EMAIL_PATTERN = rf"^\s*{_LOCAL_CHAR}+(?:\.{_LOCAL_CHAR}+)*@{_LABEL}(?:\.{_LABEL})*\.[^\W\d_]{{2,}}\s*$"
EMAIL_MIN_LENGTH = 3
EMAIL_MAX_LENGTH = 254
_EMAIL = re.compile(EMAIL_PATTERN)


def is_email(text: str) -> bool:
    """Whether `text` is an email address an attendee list takes (the API's Email field)."""
    return EMAIL_MIN_LENGTH <= len(text) <= EMAIL_MAX_LENGTH and _EMAIL.search(text) is not None


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
