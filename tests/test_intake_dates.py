"""find_dates, table-driven: one row per form an attendee writes, one per near-miss that must stay no date."""

import datetime as dt
from email.utils import parsedate_to_datetime

import pytest

from service.intake.dates import DateMention, find_dates

D = dt.date
NEW_YORK = dt.timezone(dt.timedelta(hours=-5))
FRIDAY = dt.datetime(2026, 3, 6, 16, 40, tzinfo=NEW_YORK)  # Friday 6 March 2026


def spans(text: str, sent: dt.datetime = FRIDAY) -> list[tuple[str, tuple[dt.date, ...]]]:
    return [(mention.text, mention.readings) for mention in find_dates(text, sent)]


@pytest.mark.parametrize(
    ("text", "span", "readings"),
    [
        # Month names, English, any case, full and abbreviated.
        ("the session on March 4 was great", "March 4", (D(2026, 3, 4),)),
        ("Mar 4th", "Mar 4th", (D(2026, 3, 4),)),
        ("MARCH 4", "MARCH 4", (D(2026, 3, 4),)),
        ("Sept. 30", "Sept. 30", (D(2025, 9, 30),)),
        ("4 March", "4 March", (D(2026, 3, 4),)),
        ("4th March 2026", "4th March 2026", (D(2026, 3, 4),)),
        ("on the 4th of March", "the 4th of March", (D(2026, 3, 4),)),
        ("March 4, 2026", "March 4, 2026", (D(2026, 3, 4),)),
        ("4 March 2025", "4 March 2025", (D(2025, 3, 4),)),
        ("March 4 '26", "March 4 '26", (D(2026, 3, 4),)),
        ("Wednesday, March 4", "Wednesday, March 4", (D(2026, 3, 4),)),
        ("Wed, Mar. 4", "Wed, Mar. 4", (D(2026, 3, 4),)),
        # Year-less: the most recent such date not after the sent day.
        ("March 6", "March 6", (D(2026, 3, 6),)),
        ("March 7", "March 7", (D(2025, 3, 7),)),
        # Other languages, after a day number.
        ("4 de marzo", "4 de marzo", (D(2026, 3, 4),)),
        ("4 de março de 2026", "4 de março de 2026", (D(2026, 3, 4),)),
        ("4. März", "4. März", (D(2026, 3, 4),)),
        ("4 mars", "4 mars", (D(2026, 3, 4),)),
        ("le 1er mars", "1er mars", (D(2026, 3, 1),)),
        ("4 marzo", "4 marzo", (D(2026, 3, 4),)),
        # Dotted: day first.
        ("04.03.2026", "04.03.2026", (D(2026, 3, 4),)),
        ("4.3.2026", "4.3.2026", (D(2026, 3, 4),)),
        ("am 4.3. war ich dabei", "4.3.", (D(2026, 3, 4),)),
        ("4.3.26", "4.3.26", (D(2026, 3, 4),)),
        ("Am 07.03.2026 um 10:00 schrieb", "07.03.2026", (D(2026, 3, 7),)),
        # ISO.
        ("2026-03-04", "2026-03-04", (D(2026, 3, 4),)),
        # Slashed: both readings when both are dates, month-first first.
        ("on 3/4", "3/4", (D(2026, 3, 4), D(2025, 4, 3))),
        ("03/04/2026", "03/04/2026", (D(2026, 3, 4), D(2026, 4, 3))),
        ("3/4/26", "3/4/26", (D(2026, 3, 4), D(2026, 4, 3))),
        ("25/3", "25/3", (D(2025, 3, 25),)),
        ("3/25", "3/25", (D(2025, 3, 25),)),
        ("4/4", "4/4", (D(2025, 4, 4),)),
        ("Wednesday 4/3", "Wednesday 4/3", (D(2026, 3, 4),)),
        # Words relative to the sent day.
        ("today", "today", (D(2026, 3, 6),)),
        ("yesterday", "yesterday", (D(2026, 3, 5),)),
        ("the day before yesterday", "the day before yesterday", (D(2026, 3, 4),)),
        ("this morning", "this morning", (D(2026, 3, 6),)),
        ("tonight", "tonight", (D(2026, 3, 6),)),
        ("this evening", "this evening", (D(2026, 3, 6),)),
        ("last night", "last night", (D(2026, 3, 5),)),
        # Weekdays: the most recent on or before the sent day; "last" strictly before.
        ("Wednesday", "Wednesday", (D(2026, 3, 4),)),
        ("Wednesday's session", "Wednesday", (D(2026, 3, 4),)),
        ("I joined on Wed", "on Wed", (D(2026, 3, 4),)),
        ("Friday", "Friday", (D(2026, 3, 6),)),
        ("last Tuesday", "last Tuesday", (D(2026, 3, 3),)),
        ("last Friday", "last Friday", (D(2026, 2, 27),)),
    ],
)
def test_forms(text: str, span: str, readings: tuple[dt.date, ...]) -> None:
    assert spans(text) == [(span, readings)]


@pytest.mark.parametrize(
    "text",
    [
        "at 18:00",
        "at 6:30 pm",
        "at 10.30",
        "it ended at 6.10.",
        "1/2 hour",
        "3/4 of the session",
        "a 50/50 chance",
        "24/7",
        "4/5 stars",
        "version 2.1.12",
        "v1.2.10",
        "01.02.03.04",
        "+64 21 555 0123",
        "call 021/345 6789",
        "it cost $3.50",
        "3.50",
        "€4.10.",
        "May I ask",
        "you may join",
        "Sam",
        "in March",
        "March 2026",
        "jane.2026-03-04@example.com",
        "https://example.com/2026/03/04/notes",
        "see example.com/3/4",
        "the 4th session",
        "in 2025",
        "90 minutes",
        "1.5 hours",
        "31/02",
        "2026-02-30",
        "February 30",
        "on Wednesdays",
        "I sat down",
        "next Wednesday",
    ],
)
def test_near_misses(text: str) -> None:
    assert find_dates(text, FRIDAY) == []


def test_the_senders_own_date_counts_not_utc() -> None:
    # 08:00 on Friday in Auckland is still Thursday in UTC.
    auckland = dt.datetime(2026, 3, 6, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=13)))
    assert spans("today; yesterday; Friday; March 6", auckland) == [
        ("today", (D(2026, 3, 6),)),
        ("yesterday", (D(2026, 3, 5),)),
        ("Friday", (D(2026, 3, 6),)),
        ("March 6", (D(2026, 3, 6),)),
    ]
    # 22:30 on Friday in New York is already Saturday in UTC.
    late = dt.datetime(2026, 3, 6, 22, 30, tzinfo=NEW_YORK)
    assert spans("today, Saturday", late) == [("today", (D(2026, 3, 6),)), ("Saturday", (D(2026, 2, 28),))]


def test_a_weekday_written_on_that_weekday() -> None:
    wednesday = dt.datetime(2026, 3, 4, 20, 0, tzinfo=NEW_YORK)
    assert spans("Wednesday", wednesday) == [("Wednesday", (D(2026, 3, 4),))]
    assert spans("last Wednesday", wednesday) == [("last Wednesday", (D(2026, 2, 25),))]


@pytest.mark.parametrize(
    ("text", "readings"),
    [
        ("December 30", (D(2026, 12, 30),)),
        ("30/12", (D(2026, 12, 30),)),
        ("yesterday", (D(2027, 1, 1),)),
        ("29 February", (D(2024, 2, 29),)),
    ],
)
def test_year_boundary(text: str, readings: tuple[dt.date, ...]) -> None:
    sent = dt.datetime(2027, 1, 2, 9, 0, tzinfo=dt.UTC)
    assert spans(text, sent) == [(text, readings)]


@pytest.mark.parametrize(
    ("date_header", "text", "span", "readings"),
    [
        (
            "Thu, 05 Mar 2026 19:12:44 +1300",
            "Could I please have a certificate of attendance for the co-reflection\n"
            "on 4 March with Jane Doe? I need it for my state certification.",
            "4 March",
            (D(2026, 3, 4),),
        ),
        (
            "Fri, 06 Mar 2026 16:40:02 -0500",
            "Hello! I was in Wednesday's co-reflection with Jane. Could you send me the certificate?",
            "Wednesday",
            (D(2026, 3, 4),),
        ),
        (
            "Mon, 09 Mar 2026 11:03:00 +0100",
            "It was the 04.03.2026 evening session, facilitator Jane Doe.",
            "04.03.2026",
            (D(2026, 3, 4),),
        ),
    ],
)
def test_sample_emails(date_header: str, text: str, span: str, readings: tuple[dt.date, ...]) -> None:
    assert spans(text, parsedate_to_datetime(date_header)) == [(span, readings)]


def test_mentions_come_in_order_with_their_offsets() -> None:
    text = "Yesterday (3/4), not 4.3.2026 or last Tuesday"
    assert find_dates(text, FRIDAY) == [
        DateMention(readings=(D(2026, 3, 5),), text="Yesterday", start=0),
        DateMention(readings=(D(2026, 3, 4), D(2025, 4, 3)), text="3/4", start=11),
        DateMention(readings=(D(2026, 3, 4),), text="4.3.2026", start=21),
        DateMention(readings=(D(2026, 3, 3),), text="last Tuesday", start=33),
    ]


def test_overlapping_spans_give_one_mention() -> None:
    assert spans("on Wednesday, March 4") == [("Wednesday, March 4", (D(2026, 3, 4),))]
    assert spans("last Tuesday 3/3") == [("Tuesday 3/3", (D(2026, 3, 3),))]


def test_long_hostile_text_stays_fast_enough_to_finish() -> None:
    assert find_dates("a." * 50_000 + "a@" * 50_000 + "4 " * 50_000, FRIDAY) == []
