"""Microsoft Teams attendance reports, every variant, to the proposed list (SPEC §6).

The sample (tests/data/reports/teams-attendance.csv, from ../shared/samples: UTF-16, tab-separated) is the
same session as Zoom's: Ruth joined 20 min late, Lin Mei reconnected and her UPN differs from her email,
"Okafor, Chidi" has a comma, and every date reads 3/4/26, so only the session's date tells day from month.
"""

import codecs
import csv
import datetime as dt
import io

import pytest

from service.reports import ReportError
from service.reports.parse import read_report
from service.reports.proposal import FACILITATOR, Unmatched
from service.reports.teams import email_from_upn
from tests.test_reports_zoom import DATA, MARCH_4, notes, numbers, propose, session

SAMPLE = (DATA / "teams-attendance.csv").read_bytes()
SAMPLE_TEXT = SAMPLE.decode("utf-16")
SAMPLE_NUMBERS = {
    "chidi.okafor@example.org": (True, 90, 0, 0),
    "lin.mei@example.org": (True, 85, 1, 0),
    "ruth@example.org": (False, 69, 20, 0),
}


def test_sample_read_as_written():
    report = read_report(SAMPLE, MARCH_4)
    assert report.kind == "teams" and report.gaps_known
    assert report.meeting_start == dt.datetime(2026, 3, 4, 18, 0, 2)
    assert [c.name for c in report.connections] == [
        "Jane Doe",
        "Okafor, Chidi",
        "Lin Mei",
        "Lin Mei",
        "Ruth Adler",
    ]
    lin = [c for c in report.connections if c.name == "Lin Mei"]
    assert {(c.email, c.upn) for c in lin} == {("lin.mei@example.org", "lmei@contoso.example")}
    assert [(c.joined, c.left) for c in lin] == [
        (dt.datetime(2026, 3, 4, 18, 1, 30), dt.datetime(2026, 3, 4, 18, 45)),
        (dt.datetime(2026, 3, 4, 18, 47, 48), dt.datetime(2026, 3, 4, 19, 30)),
    ]
    assert report.connections[0].role == "Organizer"


def test_sample_proposal():
    proposal = propose(SAMPLE)
    assert numbers(proposal) == SAMPLE_NUMBERS  # Lin Mei by her Email, not her UPN; Jane Doe left out
    assert [a.name for a in proposal.attendees] == ["Okafor, Chidi", "Lin Mei", "Ruth Adler"]
    assert notes(proposal)["lin.mei@example.org"] == ["joined 1 min late", "reconnected 1 time, away 2 min"]
    assert notes(proposal)["ruth@example.org"] == ["joined 20 min late (more than 15 min)"]
    assert "comma" in notes(proposal)["chidi.okafor@example.org"][0]
    assert proposal.unmatched == [Unmatched(name="Jane Doe", reason=FACILITATOR)]  # the organizer


def test_the_sessions_date_decides_day_from_month():
    """3/4/26 is 4 March for a session on 4 March, 3 April for a session on 3 April."""
    april = read_report(SAMPLE, dt.date(2026, 4, 3))
    assert april.meeting_start == dt.datetime(2026, 4, 3, 18, 0, 2)
    assert {c.joined.date() for c in april.connections if c.joined} == {dt.date(2026, 4, 3)}
    assert numbers(propose(SAMPLE, session(date=dt.date(2026, 4, 3)))) == SAMPLE_NUMBERS


def test_day_first_when_only_that_order_makes_dates():
    text = (
        "1. Summary\nStart time\t15/11/22, 09:30:17\n\n2. Participants\n"
        "Name\tFirst Join\tLast Leave\tIn-Meeting Duration\tEmail\tParticipant ID (UPN)\tRole\n"
        "Ana Ruiz\t15/11/22, 09:30:17\t15/11/22, 11:00:00\t1h 29m 43s\tana@example.org\tana@example.org\tAttendee\n"
    )
    record = session(date=dt.date(2022, 11, 15), start_time="09:30", timezone="Europe/London")
    assert numbers(propose(text.encode("utf-16"), record)) == {"ana@example.org": (True, 89, 0, 0)}


def _as_commas(text: str) -> str:
    rows = csv.reader(io.StringIO(text, newline=""), delimiter="\t")
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(SAMPLE_TEXT.encode("utf-8"), id="UTF-8, tabs"),
        pytest.param(codecs.BOM_UTF8 + SAMPLE_TEXT.encode("utf-8"), id="UTF-8 with BOM, tabs"),
        pytest.param(codecs.BOM_UTF16_BE + SAMPLE_TEXT.encode("utf-16-be"), id="UTF-16 BE"),
        pytest.param(SAMPLE_TEXT.encode("utf-16-le"), id="UTF-16 LE without BOM"),
        pytest.param(_as_commas(SAMPLE_TEXT).encode("utf-8"), id="UTF-8, commas"),
        pytest.param(_as_commas(SAMPLE_TEXT).encode("utf-16"), id="UTF-16, commas"),
        pytest.param(SAMPLE_TEXT.replace("\n", "\r\n").encode("utf-16"), id="CRLF"),
        pytest.param(SAMPLE_TEXT.replace(" PM", "\u202fPM").encode("utf-16"), id="narrow no-break space"),
        pytest.param(SAMPLE_TEXT.split("\n2. Participants")[1].encode("utf-16"), id="no summary"),
        pytest.param(SAMPLE_TEXT.upper().replace("@", "@").encode("utf-16"), id="upper-case headers"),
    ],
)
def test_every_form_of_the_sample_gives_the_same_numbers(variant: bytes):
    proposal = propose(variant)
    assert {k.lower(): v for k, v in numbers(proposal).items()} == SAMPLE_NUMBERS
    assert len([a for a in proposal.attendees if "," in a.name]) == 1  # the comma stays in the name


def test_utf8_comma_export_day_first_with_organizer_presenters_and_guests():
    proposal = propose((DATA / "teams-utf8-comma.csv").read_bytes())
    assert numbers(proposal) == {
        "events@ipscentral.test": (True, 90, 0, 0),
        "chidi.okafor@example.org": (True, 90, 0, 0),
        "lin.mei@example.org": (True, 85, 1, 0),
        "ruth.adler@example.org": (True, 84, 5, 0),  # Email empty: the address her guest UPN encodes
    }
    by_email = {a.email: a for a in proposal.attendees}
    # An organizer who is no facilitator of the session stays, marked; "Doe, Jane" (Presenter) is Jane Doe.
    assert by_email["events@ipscentral.test"].notes == [
        "a host of the meeting, not a facilitator of this session"
    ]
    assert by_email["chidi.okafor@example.org"].name == "Okafor, Chidi"
    assert by_email["lin.mei@example.org"].notes[-1] == "reconnected 1 time, away 2 min"
    assert [(u.name, "No email" in u.reason) for u in proposal.unmatched] == [
        ("+1 555 0100", True),
        ("Chris Walker", True),  # "(Unverified)" is a tag, not part of the name
        ("Doe, Jane", False),  # the facilitator, named as such
    ]
    assert proposal.unmatched[-1].reason == FACILITATOR


def test_participants_section_alone_is_judged_on_first_join_and_last_leave():
    report = read_report((DATA / "teams-participants-only.csv").read_bytes(), MARCH_4)
    assert not report.gaps_known
    proposal = propose((DATA / "teams-participants-only.csv").read_bytes())
    assert numbers(proposal) == {
        "lin.mei@example.org": (True, 88, 1, 0),
        "ruth@example.org": (False, 69, 20, 0),
    }
    assert all("time away in between is not known" in a.notes[-1] for a in proposal.attendees)


def test_activities_section_alone():
    text = SAMPLE_TEXT.split("3. In-Meeting Activities\n")[1]
    assert numbers(propose(text.encode("utf-16"))) == SAMPLE_NUMBERS


ACTIVITIES = "3. In-Meeting Activities\nName\tJoin Time\tLeave Time\tDuration\tEmail\tRole\n"
PARTICIPANTS = (
    "2. Participants\nName\tFirst Join\tLast Leave\tIn-Meeting Duration\tEmail\tParticipant ID (UPN)\tRole\n"
)


def test_the_upn_stands_in_only_when_email_is_empty():
    text = PARTICIPANTS + (
        "Sam Okoye\t3/4/26, 6:00:00 PM\t3/4/26, 7:30:00 PM\t1h 30m\t\tsam.okoye@contoso.example\tAttendee\n"
        "Lin Mei\t3/4/26, 6:00:00 PM\t3/4/26, 7:30:00 PM\t1h 30m\tlin.mei@example.org\tlmei@contoso.example\tAttendee\n"
    )
    assert set(numbers(propose(text))) == {"sam.okoye@contoso.example", "lin.mei@example.org"}


def test_activity_rows_without_email_take_the_participants_email():
    text = (
        PARTICIPANTS
        + "Lin Mei\t3/4/26, 6:00:00 PM\t3/4/26, 7:30:00 PM\t1h 30m\tlin.mei@example.org\tlmei@contoso.example\tAttendee\n"
        + "\n"
        + ACTIVITIES
        + "Lin Mei\t3/4/26, 6:00:00 PM\t3/4/26, 6:30:00 PM\t30m\t\tAttendee\n"
        + "Lin Mei\t3/4/26, 6:45:00 PM\t3/4/26, 7:30:00 PM\t45m\t\tAttendee\n"
    )
    proposal = propose(text)
    assert numbers(proposal) == {"lin.mei@example.org": (False, 75, 0, 0)}
    assert notes(proposal)["lin.mei@example.org"] == [
        "reconnected 1 time, away 15 min (more than 10 min in all)"
    ]


def test_a_facilitator_is_left_out_whatever_their_role():
    text = PARTICIPANTS + (
        "Sam Lee\t3/4/26, 6:00:00 PM\t3/4/26, 7:30:00 PM\t1h 30m\tsam@example.org\tsam@example.org\tAttendee\n"
        "Ana Ruiz\t3/4/26, 6:00:00 PM\t3/4/26, 7:30:00 PM\t1h 30m\tana@example.org\tana@example.org\tPresenter\n"
    )
    proposal = propose(text, session(facilitators=("Jane Doe", "Sam Lee")))
    assert set(numbers(proposal)) == {"ana@example.org"}
    assert not any("host" in n for n in notes(proposal)["ana@example.org"])  # a presenter is an attendee


@pytest.mark.parametrize(
    ("upn", "email"),
    [
        ("lin.mei_example.org#EXT#@contoso.onmicrosoft.com", "lin.mei@example.org"),
        ("first_last_example.co.uk#EXT#@tenant.onmicrosoft.com", "first_last@example.co.uk"),
        ("LMei@Contoso.example", "LMei@Contoso.example"),
        ("", ""),
    ],
)
def test_a_guest_upn_is_turned_back_into_its_address(upn, email):
    assert email_from_upn(upn) == email


def test_a_teams_report_without_people_is_refused():
    with pytest.raises(ReportError) as refused:
        read_report("1. Summary\nMeeting title\tIPS\n\n2. Participants\n".encode("utf-16"), MARCH_4)
    assert "no participants" in str(refused.value)


def test_a_session_crossing_midnight_reads_day_first_when_only_that_keeps_the_night_together():
    """23:00 to 00:35 on 3/4 March written day first: month first would put the leave on 3 April, a tie
    at the nearest date; the farthest date decides (and a month away is refused outright)."""
    text = PARTICIPANTS + (
        "Ana Ruiz\t03/03/2026, 23:00:00\t04/03/2026, 00:35:00\t1h 35m\tana@example.org\tana@example.org\tAttendee\n"
        "Bo Lind\t03/03/2026, 23:20:00\t04/03/2026, 00:05:00\t45m\tbo@example.org\tbo@example.org\tAttendee\n"
    )
    record = session(date=dt.date(2026, 3, 3), start_time="23:00", timezone="Europe/London")
    report = read_report(text.encode("utf-16"), record.date)
    assert [c.left for c in report.connections] == [
        dt.datetime(2026, 3, 4, 0, 35),
        dt.datetime(2026, 3, 4, 0, 5),
    ]
    assert numbers(propose(text, record)) == {
        "ana@example.org": (True, 90, 0, 0),
        "bo@example.org": (False, 45, 20, 25),
    }


def test_a_teams_report_of_another_meeting_is_refused():
    with pytest.raises(ReportError) as refused:
        read_report(SAMPLE, dt.date(2026, 5, 4))
    # 3/4/26 fits neither reading of the session's date: both are named.
    assert "meeting on 4 March 2026 or 3 April 2026, but the session is on 4 May 2026" in str(refused.value)
