"""Whether an email asks for a certificate, and which session it means, the way a careful staff member
would read it.

A message that is not a certificate request (a question, a correction, a complaint, a thank-you) is
left for staff: a wrong automatic answer to a person is worse than none. For a request, the date comes
from the new text first (then the subject, then a forwarded message), relative to the Date header; the
facilitator is the name in the text that fits a facilitator of that date's sessions, else the name after
"with", "facilitated by" and the like; a time ("the 6pm one", "the morning session") picks among sessions.
"""

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from rapidfuzz.distance import DamerauLevenshtein

from service.intake.dates import DateMention, find_dates
from service.intake.message import IncomingMessage
from service.rules.names import CLOSE, NONE, fold, name_score

_CERTIFICATE = re.compile(
    r"\b(certificates?|certs?|certificados?|certificats?|zertifikat|bescheinigung|teilnahmebestätigung|"
    r"attestato|attestation|certificazione|comprovante|constancia|proof of (attendance|participation)|"
    r"ceus?|contact hours|ce hours|continuing education|\w*bescheinigung)\b",
    re.IGNORECASE,
)
_INTENT = re.compile(
    r"\b(please|pls|plz|could (i|you|we)|can (i|you|we)|would (you|it)|may i|i(['\u2019]d| would) like|"
    r"i need|we need|need (a|my|the|an)|requesting|request(ed)?|send me|email me|issue me|where is|"
    r"ha(ven|sn)['\u2019]?t (received|gotten|arrived)|have not (received|gotten)|did(n['\u2019]?t| not) (get|receive)|"
    r"still waiting|not received|i am writing|i['\u2019]m writing|asking for|looking for my|"
    r"podr[ií]an?|quisiera|solicito|me gustar[ií]a|pourr(iez|ais)|je voudrais|könnten sie|ich bitte|"
    r"hätte gerne|gostaria|poderia|vorrei|potreste|por favor|necesito|preciso|bitte|brauche|"
    r"s['\u2019]il vous pla[iî]t|svp|j['\u2019]ai besoin|per favore|ho bisogno)\b",
    re.IGNORECASE,
)
# Messages staff must read themselves, even when they mention certificates and dates.
_FOR_STAFF = re.compile(
    r"(misspel|\bspelled\b|\bspelt\b|wrong name|name (is|was) (wrong|incorrect|misspelled)|"
    r"correct(ion)?( of| to)? (my|the) name|typo in my name|incorrect name|change (my|the) name|"
    r"\bcomplain|\bcomplaint|disappointed|unacceptable|\bunsubscribe|remove me from|"
    r"\binvoice|\brefund|\bbilling|\breceipt\b|\bcharged\b|become a facilitator|facilitator training|"
    r"train(ing)? to facilitate|\b(upload|submit|send)\w*\s+(you\s+)?(the|my|our)\s+(attendee\s+|attendance\s+)?list|"
    # Someone else's certificate, a board checking one, a refusal of one, a re-issue: a person decides.
    r"\b(her|his|their|our)\s+(certificates?|certs?)\b|my colleague|on behalf of|\beveryone\b|all (the )?attendees|"
    r"\b(do not|don['\u2019]?t|no need to)\s+send|\bverif(y|ying|ication)\b|legal name|\bre-?issue|"
    r"should (be|read|say)\b|\bcancel|link (does not|doesn['\u2019]?t|is not|isn['\u2019]?t) work)",
    re.IGNORECASE,
)
_GRATITUDE = re.compile(
    r"\b(thanks?|thank you|gracias|merci|danke|obrigad[oa])\b[^.!?\n]{0,60}\b(for|received|got)\b",
    re.IGNORECASE,
)
_CUE = re.compile(
    r"\b(?:with|facilitated by|facilitator(?:s)?(?: was| is| were|:)?|led by|run by|hosted by|"
    r"con|avec|mit|com|facilitadora?|animé par)\s+"
    r"((?:[A-ZÀ-ÖØ-Þ][\w'\u2019-]+)(?:\s+(?:and|y|et|und|e|&)?\s*[A-ZÀ-ÖØ-Þ][\w'\u2019-]+){0,3})"
)
_POSSESSIVE = re.compile(r"\b([A-ZÀ-ÖØ-Þ][\w-]+)['\u2019]s\s+(?:session|group|co-?reflection|class|circle)")
_NOT_NAMES = frozenset(
    {
        "i",
        "the",
        "ips",
        "central",
        "zoom",
        "teams",
        "my",
        "a",
        "an",
        "our",
        "you",
        "co",
        "session",
        "group",
        "this",
        "that",
        "limited",
        "regards",
        "thanks",
        "hi",
        "hello",
        "dear",
    }
)
_CLOCK = re.compile(r"\b(\d{1,2})(?:[:h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)", re.IGNORECASE)
_CLOCK_24 = re.compile(r"\b([01]?\d|2[0-3])[:h]([0-5]\d)\b(?!\s*(am|pm|a\.m\.|p\.m\.))", re.IGNORECASE)
# A part of the day only when it is about the session ("the morning session", "the evening one"):
# "Good morning!" says nothing about which session.
_PART_OF_DAY = re.compile(
    r"\b(morning|afternoon|evening|night|lunch(?:time)?|noon)\s+(?:session|one|group|co-?reflection|meeting|class)"
    r"|\b(?:session|one|group|co-?reflection|meeting)\s+(?:in\s+the\s+|this\s+|that\s+|at\s+)?"
    r"(morning|afternoon|evening|night|lunch(?:time)?|noon)\b",
    re.IGNORECASE,
)
_DAY_PARTS = {
    "morning": (0, 12),
    "noon": (11, 14),
    "lunch": (11, 14),
    "lunchtime": (11, 14),
    "afternoon": (12, 17),
    "evening": (17, 24),
    "night": (18, 24),
    "tonight": (17, 24),
}

SessionsOn = Callable[[dt.date], Sequence[dict[str, Any]]]
_MAX_READINGS = 6  # each costs up to three lookups of a day's sessions


class Understanding(msgspec.Struct, frozen=True, kw_only=True):
    is_request: bool
    left_because: str | None = None  # why a message is left for staff
    mentions: tuple[DateMention, ...] = ()
    name_hint: str | None = None  # a facilitator's name as written after "with", "led by", …
    time_hint: str | None = None  # "18:00", or a part of the day: "morning", "evening", …


class Resolved(msgspec.Struct, frozen=True, kw_only=True):
    date: dt.date | None
    facilitator: str | None
    start_time: str | None
    missing: tuple[str, ...] = ()  # what to ask the attendee for: ("date",) or ("date", "facilitator")
    left_because: str | None = None  # a person must read it after all (several sessions, a facilitator)


def understand(message: IncomingMessage, answering: str | None = None) -> Understanding:
    """`answering`: what our email this one replies to was ("question", "certificate", "explanation"),
    or None when it replies to none of ours."""
    text = message.text
    everything = f"{message.subject}\n{text}"
    if answering is not None and answering != "question":
        # A reply to a certificate or an explanation is a thank-you, a correction, a complaint or a
        # question about it: a person answers those.
        return Understanding(is_request=False, left_because=f"a reply to our {answering}")
    if _FOR_STAFF.search(everything):
        return Understanding(
            is_request=False, left_because="a correction, complaint or other matter for staff"
        )
    in_text = _session_dates(find_dates(text, message.sent), text)
    has_certificate = bool(_CERTIFICATE.search(everything))
    has_intent = bool(_INTENT.search(everything))
    if _GRATITUDE.search(text) and not has_intent:
        return Understanding(is_request=False, left_because="a thank-you")
    # A certificate and a date in passing ("attendees asked me about their certificates for 9 March")
    # is not yet a request: it takes words of asking, a subject about a certificate, or an answer to
    # the question we asked.
    subject_asks = bool(_CERTIFICATE.search(message.subject))
    asks = has_certificate and (has_intent or (bool(in_text) and subject_asks))
    answers_us = answering == "question" and (bool(in_text) or _CUE.search(text) is not None)
    if not (asks or answers_us):
        return Understanding(is_request=False, left_because="not a certificate request")
    return Understanding(
        is_request=True,
        mentions=tuple(in_text) or _mentions_elsewhere(message),
        name_hint=_name_hint(text),
        time_hint=_time_hint(text),
    )


def _mentions_elsewhere(message: IncomingMessage) -> tuple[DateMention, ...]:
    for source in (message.subject, message.forwarded):
        found = _session_dates(find_dates(source, message.sent), source)
        if found:
            return tuple(found)
    return ()


# Dates that say when someone is away or back, or bound a range, are not the session's.
_AWAY_BEFORE = re.compile(
    r"\b(until|till|from|back on|back|returning|return on|closed|away|out of (the )?office|vacation|"
    r"holiday|leave|since|due|deadline|expires?)\W*$|\d\s*(-|\u2013|to|until|till)\s*$",
    re.IGNORECASE,
)
_RANGE_AFTER = re.compile(r"^\s*(-|\u2013|to|until|till)\s*\d", re.IGNORECASE)


def _session_dates(mentions: list[DateMention], text: str) -> list[DateMention]:
    return [
        m
        for m in mentions
        if not _AWAY_BEFORE.search(text, max(0, m.start - 30), m.start)
        and not _RANGE_AFTER.match(text, m.start + len(m.text))
    ]


def _name_hint(text: str) -> str | None:
    for match in (*_CUE.finditer(text), *_POSSESSIVE.finditer(text)):
        words = [w for w in match.group(1).split() if fold(w) not in _NOT_NAMES]
        if words and fold(words[0]) not in _NOT_NAMES:
            return " ".join(words)
    return None


def _time_hint(text: str) -> str | None:
    if clock := _CLOCK.search(text):
        hour = int(clock.group(1)) % 12 + (12 if clock.group(3).lower().startswith("p") else 0)
        return f"{hour:02d}:{int(clock.group(2) or 0):02d}"
    if clock := _CLOCK_24.search(text):
        return f"{int(clock.group(1)):02d}:{clock.group(2)}"
    if part := _PART_OF_DAY.search(text):
        return (part.group(1) or part.group(2)).lower().removesuffix("time")
    return None


def resolve(
    understanding: Understanding, text: str, sessions_on: SessionsOn, sender_name: str = ""
) -> Resolved:
    """Turn what was written into what to ask the API, using the sessions of the dates mentioned.

    Each date read (both readings of "3/4", every date mentioned) is ranked: a session on that very day
    first, then one a day off (time zones), and among those the ones whose facilitator the text names.
    Two dates that rank alike are two sessions or an unsettled day and month: a person reads it.
    """
    # A date written out ("4 March", "3/4") says more than a weekday or "yesterday" in a signature.
    strengths: dict[dt.date, int] = {}
    for mention in understanding.mentions:
        strength = 2 if any(c.isdigit() for c in mention.text) else 1
        for reading in mention.readings:
            strengths[reading] = max(strengths.get(reading, 0), strength)
    if not strengths:
        missing = ("date",) if understanding.name_hint else ("date", "facilitator")
        return Resolved(date=None, facilitator=understanding.name_hint, start_time=None, missing=missing)
    ranked = sorted(
        (
            (*_rank(sessions_on, day, text, understanding.name_hint), strength, -order, day)
            for order, (day, strength) in enumerate(list(strengths.items())[:_MAX_READINGS])
        ),
        reverse=True,
    )
    best, date = ranked[0][:3], ranked[0][4]
    if best[0] > 0 and len(ranked) > 1 and ranked[1][:3] == best:
        return Resolved(
            date=None, facilitator=None, start_time=None, left_because="it names several sessions"
        )
    nearby = _sessions_near(sessions_on, date)
    if sender_name and any(name_score(sender_name, s["facilitators"]) >= CLOSE for s in nearby):
        return Resolved(date=None, facilitator=None, start_time=None, left_because="a facilitator writing")
    facilitator = _facilitator_in(text, nearby) or understanding.name_hint
    on_the_day = [s for s in nearby if s["date"] == date.isoformat()]
    start_time = _start_time(understanding.time_hint, on_the_day)
    if start_time is not None and facilitator is not None:
        # A time that points away from the session the name fits best is the weaker clue.
        timed = [s for s in on_the_day if s.get("start_time") == start_time]
        best_anywhere = max((name_score(facilitator, s["facilitators"]) for s in on_the_day), default=NONE)
        if max((name_score(facilitator, s["facilitators"]) for s in timed), default=NONE) < best_anywhere:
            start_time = None
    return Resolved(date=date, facilitator=facilitator, start_time=start_time)


def _rank(sessions_on: SessionsOn, date: dt.date, text: str, name_hint: str | None) -> tuple[int, int]:
    """(2 for a session that day, 1 for one a day off, 0 for none; 1 when the text names its facilitator)."""
    exact = list(sessions_on(date))
    nearby = _sessions_near(sessions_on, date)
    where = 2 if exact else 1 if nearby else 0
    named = _facilitator_in(text, nearby) or name_hint
    fits = bool(named) and any(name_score(named, s["facilitators"]) > NONE for s in nearby)
    return where, int(fits)


def _sessions_near(sessions_on: SessionsOn, date: dt.date) -> list[dict[str, Any]]:
    """The date's sessions, and the online ones a day either side (time zones: the date line)."""
    sessions = list(sessions_on(date))
    for other in (date - dt.timedelta(days=1), date + dt.timedelta(days=1)):
        sessions.extend(s for s in sessions_on(other) if s["delivery"] == "online")
    return sessions


def _facilitator_in(text: str, sessions: list[dict[str, Any]]) -> str | None:
    """The words in the text that best fit a facilitator of these sessions, as written.

    Only capitalised words count ("Hope" may be a facilitator; "I hope" is not about her), and the
    words are returned as written so that the API's own matching keeps two Janes a tie.
    """
    names = {name for s in sessions for name in s["facilitators"]}
    if not names:
        return None
    name_tokens = {t for name in names for t in fold(name).split()}
    words = re.findall(r"[\w'\u2019-]+", text)
    best: tuple[int, str] | None = None
    for i, word in enumerate(words):
        if not word[0].isupper() or not _near_any(fold(word), name_tokens):
            continue
        for width in (3, 2, 1):
            window = [w for w in words[i : i + width] if w[0].isupper()]
            if len(window) != width:
                continue
            fragment = " ".join(window)
            score = name_score(fragment, sorted(names))
            if score > NONE and (best is None or score > best[0]):
                best = (score, fragment)
    return best[1] if best else None


def _near_any(token: str, name_tokens: set[str]) -> bool:
    if token in name_tokens:
        return True
    return len(token) >= 4 and any(
        len(n) >= 4 and DamerauLevenshtein.distance(token, n) <= 1 for n in name_tokens
    )


def _start_time(hint: str | None, sessions: list[dict[str, Any]]) -> str | None:
    if hint is None:
        return None
    timed = [s for s in sessions if s.get("start_time")]
    if ":" in hint:
        exact = [s["start_time"] for s in timed if s["start_time"] == hint]
        return exact[0] if exact else None
    first, last = _DAY_PARTS[hint]
    fitting = {s["start_time"] for s in timed if first <= int(s["start_time"][:2]) < last}
    return fitting.pop() if len(fitting) == 1 else None
