"""Forgiving facilitator-name matching.

Attendees remember facilitators the way people do: "jane", "Ms Doe", "Jayne Doe", "Jane and Sam".
A name only ever chooses among sessions (the attendee list is the authority), so the job here is
to rank how well a remembered name fits a session's facilitators, and to let ties stay ties:
"Jane" must not pick one of two Janes.
"""

import re
import unicodedata

from rapidfuzz.distance import DamerauLevenshtein

EXACT = 4
CLOSE = 3  # whole name with a small misspelling, reordered, or missing a middle name
PART = 2  # first name alone, surname alone
NEAR_PART = 1  # first name or surname alone, misspelled
NONE = 0

_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sr", "sra", "rev"})
_SEPARATORS = re.compile(r"\s*(?:&|\+|/|;|\band\b|\bund\b|\bet\b|\by\b)\s*", re.IGNORECASE)


def fold(text: str) -> str:
    """Case, accents, punctuation and spacing do not distinguish names ("Zoë" is "zoe")."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    stripped = stripped.replace("'", "").replace("\u2019", "")
    return " ".join(re.sub(r"[^\w]+", " ", stripped).split())


def _tokens(text: str) -> list[str]:
    return [t for t in fold(text).split() if t not in _HONORIFICS]


def _allowed_edits(length: int) -> int:
    return 1 if length <= 10 else 2


def _score_one(query: list[str], facilitator: list[str]) -> int:
    initials = [t for t in query if len(t) == 1]
    words = [t for t in query if len(t) > 1]
    # "S. Lee", "Jane D.": an initial must agree with a part of the name, and then strengthens it.
    if not words or not facilitator or not all(any(f[0] == i for f in facilitator) for i in initials):
        return NONE
    if words == facilitator or sorted(words) == sorted(facilitator):
        return EXACT
    if len(words) >= 2:
        joined, target = " ".join(words), " ".join(facilitator)
        if DamerauLevenshtein.distance(joined, target) <= _allowed_edits(len(target)):
            return CLOSE
        if all(t in facilitator for t in words):
            return CLOSE
        # "Samuel Lee" for Sam Lee: one part fits, as a first name or surname alone would.
        return min(PART, max(_score_word(t, facilitator) for t in words))
    score = _score_word(words[0], facilitator)
    return CLOSE if initials and score == PART else score


def _score_word(token: str, facilitator: list[str]) -> int:
    if token in facilitator:
        return PART
    if len(token) >= 4 and any(
        len(part) >= 4 and DamerauLevenshtein.distance(token, part) <= 1 for part in facilitator
    ):
        return NEAR_PART
    return NONE


def _query_variants(query: str) -> list[list[str]]:
    """The whole text, and each name in "Jane Doe and Sam Lee" on its own."""
    variants = [_tokens(query)]
    parts = [p for p in _SEPARATORS.split(query) if p and p.strip()]
    if len(parts) > 1:
        variants.extend(_tokens(p) for p in parts)
    if "," in query:
        # "Doe, Jane" is one reordered name; "Jane Doe, Sam Lee" is two.
        variants.extend(_tokens(p) for p in query.split(","))
    return [v for v in variants if v]


def name_score(query: str, facilitators: list[str] | tuple[str, ...]) -> int:
    """How well a remembered name fits any of a session's (co-)facilitators, NONE..EXACT."""
    variants = _query_variants(query)
    return max(
        (_score_one(v, _tokens(f)) for v in variants for f in facilitators),
        default=NONE,
    )
