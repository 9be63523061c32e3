"""The session dates an attendee means, found in the free text of their email.

People write "4 March", "Wednesday's co-reflection", "3/4", "04.03.2026" or "yesterday", and all of it is
relative to when they wrote: the email's Date header, in the sender's own offset. A general date parser
(dateparser) misreads "Sam" and "May I…" as dates, silently swaps month and day, and reads "3/4/26" as 1926
(NOTES.md, Email intake), so this module finds the few forms people use itself and refuses what merely looks
like a date: times, fractions, versions, money, phone numbers, addresses.

It never guesses between day and month: "3/4" keeps both readings, and the known sessions decide.
"""

import bisect
import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

import msgspec


class DateMention(msgspec.Struct, frozen=True):
    readings: tuple[dt.date, ...]  # one date, or both readings of "3/4" (month-first first)
    text: str  # the span as written
    start: int  # offset of the span in the text


_WEEKDAYS = {
    **dict.fromkeys(("monday", "mon"), 0),
    **dict.fromkeys(("tuesday", "tues", "tue"), 1),
    **dict.fromkeys(("wednesday", "wed"), 2),
    **dict.fromkeys(("thursday", "thurs", "thur", "thu"), 3),
    **dict.fromkeys(("friday", "fri"), 4),
    **dict.fromkeys(("saturday", "sat"), 5),
    **dict.fromkeys(("sunday", "sun"), 6),
}
_ENGLISH = "january february march april may june july august september october november december"
_ENGLISH_MONTHS = {name: n for n, full in enumerate(_ENGLISH.split(), 1) for name in (full, full[:3])} | {
    "sept": 9
}
# Spanish, Portuguese, French, German, Italian: read only after a day number ("4 de marzo", "4. März"),
# where a month name cannot be an ordinary word.
_ABROAD = (
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "januar februar märz april mai juni juli august september oktober november dezember",
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
)
_ALL_MONTHS = (
    _ENGLISH_MONTHS
    | {name: n for names in _ABROAD for n, name in enumerate(names.split(), 1)}
    | {"setiembre": 9, "jänner": 1, "maerz": 3, "fevrier": 2, "aout": 8, "decembre": 12}
)


def _alternation(names: Iterable[str]) -> str:
    # Longest first, so that "march" is tried before "mar" and "tues" before "tue".
    return "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))


_FULL_WEEKDAY = _alternation(name for name in _WEEKDAYS if name.endswith("day"))
_SHORT_WEEKDAY = _alternation(name for name in _WEEKDAYS if not name.endswith("day"))
# "Wednesday, March 4" or "Wed 3/4": the weekday belongs to the date's span, and it can settle "3/4".
_NAMED_DAY = rf"(?:\b(?P<named_day>{_FULL_WEEKDAY}|{_SHORT_WEEKDAY})\.?,?\s+)?"
_YEAR = r"(?:19|20)\d\d(?!\d)"
# A number glued to letters, digits, dots, slashes, colons, signs or currency is part of something else:
# "v1.2.10", "18:3/4", "+64 4/3", "$4.10.", "1/2/3/4".
_NUMBER_START = r"(?<![\w.,/:+$€£-])"
_NUMBER_END = r"(?![\w/:%-])(?![.,]\d)"

_MONTH_DAY = re.compile(
    _NAMED_DAY + rf"\b(?P<month>{_alternation(_ENGLISH_MONTHS)})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b"
    rf"(?![:.,/]\d)(?:,?\s+(?P<year>{_YEAR}|'\d\d\b))?",
    re.IGNORECASE,
)
_DAY_MONTH = re.compile(
    _NAMED_DAY
    + r"(?<![\w.,/:])(?:the\s+)?(?P<day>\d{1,2})(?:(?:st|nd|rd|th|er|º|ª)?\s+|\.\s*)(?:(?:of|de)\s+)?"
    # "4 Mar 26" is the 4th of March 2026, not "Mar 26": a two-digit year right after the month belongs to it.
    rf"(?P<month>{_alternation(_ALL_MONTHS)})\b\.?(?:,?\s+(?:de\s+)?(?P<year>{_YEAR}|'?\d\d\b(?![:.,/]\d)))?",
    re.IGNORECASE,
)
_ISO = re.compile(
    _NAMED_DAY
    + _NUMBER_START
    + rf"(?P<year>{_YEAR})(?P<sep>[-/.])(?P<month>\d{{1,2}})(?P=sep)(?P<day>\d{{1,2}})"
    + _NUMBER_END,
    re.IGNORECASE,
)
_SLASHED = re.compile(
    _NAMED_DAY
    + _NUMBER_START
    + r"(?P<first>\d{1,2})/(?P<second>\d{1,2})(?:/(?P<year>(?:19|20)\d\d|\d\d))?"
    + _NUMBER_END,
    re.IGNORECASE,
)
# Day first, as everywhere dots are written; "4.3." needs its closing dot, or "10.30" would be a date.
_DOTTED = re.compile(
    _NAMED_DAY
    + _NUMBER_START
    + r"(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>(?:19|20)\d\d|\d\d)?"
    + _NUMBER_END,
    re.IGNORECASE,
)
_RELATIVE = re.compile(
    r"\b(?:(?P<two>(?:the\s+)?day\s+before\s+yesterday)|(?P<one>yesterday|last\s+night)"
    r"|today|tonight|this\s+(?:morning|afternoon|evening))\b",
    re.IGNORECASE,
)
# "Wednesdays" (a habit, not a day) does not match; "Wednesday's session" does.
_WEEKDAY = re.compile(
    rf"\b(?:(?P<word>last|next|on|this)\s+)?(?:(?P<full>{_FULL_WEEKDAY})|(?P<short>{_SHORT_WEEKDAY})\.?)(?!\w)",
    re.IGNORECASE,
)

# Numbers that count or measure rather than date: "1/2 hour", "3/4 of the session", "4/5 stars".
_MEASURED = re.compile(
    r"\s*(?:of|hours?|hrs?|h|minutes?|mins?|days?|weeks?|months?|years?|stars?|points?|split|chance)\b",
    re.IGNORECASE,
)
_LABEL_BEFORE = re.compile(
    r"\b(?:version|ver|release|build|section|chapter|page|step|rated|score|tel|phone|fax|ext|nr|no)\.?:?\s*$",
    re.IGNORECASE,
)
_CLOCK_BEFORE = re.compile(r"\b(?:at|um)\s*$", re.IGNORECASE)  # "at 6.10." is a time at a sentence's end
# Dates inside addresses and links ("jane.2026-03-04@example.com", ".../2026/03/04/notes") are not meant.
_ADDRESSES = re.compile(
    r"(?:https?://|www\.|mailto:)\S+"
    r"|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*"
    r"|(?<![\w.-])[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}/\S*",
    re.IGNORECASE,
)


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _most_recent(month: int, day: int, today: dt.date) -> dt.date | None:
    # A year-less date is one already past: "4 March" written on 2 January means last year's.
    # Eight years back reaches the last 29 February from any year.
    for year in range(today.year, today.year - 9, -1):
        found = _date(year, month, day)
        if found and found <= today:
            return found
    return None


def _on(year: str | None, month: int, day: int, today: dt.date) -> dt.date | None:
    if year is None:
        return _most_recent(month, day, today)
    digits = year.lstrip("'")
    return _date(int(digits) + 2000 if len(digits) == 2 else int(digits), month, day)


def _is_labelled(match: re.Match[str], number: str) -> bool:
    # "version 2.1.12", "page 3/4", "tel. 12/34 56": the word before says what the number is.
    text, start = match.string, match.start(number)
    return bool(_LABEL_BEFORE.search(text, max(0, start - 24), start))


def _by_name(match: re.Match[str], today: dt.date) -> tuple[dt.date, ...]:
    found = _on(match["year"], _ALL_MONTHS[match["month"].lower()], int(match["day"]), today)
    return (found,) if found else ()


def _iso(match: re.Match[str], today: dt.date) -> tuple[dt.date, ...]:
    found = _date(int(match["year"]), int(match["month"]), int(match["day"]))
    return (found,) if found else ()


def _slashed(match: re.Match[str], today: dt.date) -> tuple[dt.date, ...]:
    if _is_labelled(match, "first") or _MEASURED.match(match.string, match.end()):
        return ()
    first, second = int(match["first"]), int(match["second"])
    if (first, second) == (24, 7):  # around the clock, not 24 July
        return ()
    readings = (_on(match["year"], first, second, today), _on(match["year"], second, first, today))
    return tuple(dict.fromkeys(found for found in readings if found))


def _dotted(match: re.Match[str], today: dt.date) -> tuple[dt.date, ...]:
    if _is_labelled(match, "day") or _MEASURED.match(match.string, match.end()):
        return ()
    if match["year"] is None and _CLOCK_BEFORE.search(
        match.string, max(0, match.start("day") - 8), match.start("day")
    ):
        return ()
    found = _on(match["year"], int(match["month"]), int(match["day"]), today)
    return (found,) if found else ()


def _relative(match: re.Match[str], today: dt.date) -> tuple[dt.date, ...]:
    days_back = 2 if match["two"] else 1 if match["one"] else 0
    return (today - dt.timedelta(days=days_back),)


def _weekday(match: re.Match[str], today: dt.date) -> tuple[dt.date, ...]:
    word = (match["word"] or "").lower()
    # "next Friday" is not a session anyone attended; "sat", "wed", "sun" alone are ordinary words.
    if word == "next" or (match["short"] and word not in ("on", "last")):
        return ()
    weekday = _WEEKDAYS[(match["full"] or match["short"]).lower()]
    if word == "last":  # the most recent one strictly before the day of writing
        return (today - dt.timedelta(days=(today.weekday() - weekday - 1) % 7 + 1),)
    return (today - dt.timedelta(days=(today.weekday() - weekday) % 7),)


class _Candidate(NamedTuple):
    start: int
    end: int
    explicit: bool
    readings: tuple[dt.date, ...]


_Reader = Callable[[re.Match[str], dt.date], tuple[dt.date, ...]]
# Explicit dates (a day number is written) outrank words relative to the Date header where they overlap.
_READERS: tuple[tuple[re.Pattern[str], _Reader, bool], ...] = (
    (_MONTH_DAY, _by_name, True),
    (_DAY_MONTH, _by_name, True),
    (_ISO, _iso, True),
    (_SLASHED, _slashed, True),
    (_DOTTED, _dotted, True),
    (_RELATIVE, _relative, False),
    (_WEEKDAY, _weekday, False),
)


def _candidates(masked: str, today: dt.date) -> list[_Candidate]:
    found: list[_Candidate] = []
    for pattern, read, explicit in _READERS:
        for match in pattern.finditer(masked):
            readings = read(match, today)
            if explicit and match["named_day"] and readings:
                # "Wednesday 3/4": keep the reading that is a Wednesday, if one is.
                named = _WEEKDAYS[match["named_day"].lower()]
                readings = tuple(d for d in readings if d.weekday() == named) or readings
            found.append(_Candidate(match.start(), match.end(), explicit, readings))
    return found


def find_dates(text: str, sent: dt.datetime) -> list[DateMention]:
    """Every date mention in `text`, in order of appearance. `sent` is the Date header (aware; its own
    offset gives the sender's local date, which is what "yesterday" and year-less dates are relative to)."""
    # The date on the sender's calendar: 08:00 on 6 March in Auckland is still 5 March in UTC.
    today = sent.date()
    masked = _ADDRESSES.sub(lambda m: "\x00" * len(m.group()), text)
    # Where spans overlap ("Wednesday, March 4" and "Wednesday"; "the day before yesterday" and
    # "yesterday"), the explicit one wins, then the longer, then the earlier. Spans that were read and
    # refused ("1/2 hour", "31/02") still claim their text, so no shorter reading hides inside them.
    ranked = sorted(_candidates(masked, today), key=lambda c: (not c.explicit, c.start - c.end, c.start))
    taken: list[_Candidate] = []
    for candidate in ranked:
        at = bisect.bisect(taken, candidate.start, key=lambda c: c.start)
        if (at == 0 or taken[at - 1].end <= candidate.start) and (
            at == len(taken) or candidate.end <= taken[at].start
        ):
            taken.insert(at, candidate)
    return [DateMention(c.readings, text[c.start : c.end], c.start) for c in taken if c.readings]
