"""Zoom participant reports, every variant the exports come in, to the proposed list (SPEC §6).

The sample (tests/data/reports/zoom-participants.csv, from ../shared/samples) is a session on Wednesday
4 March 2026, 18:00 America/New_York, 90 minutes, facilitator Jane Doe: Priya joined 24 min late, Kai left
34 min early, Miguel reconnected and was there in full, Tom's iPhone has no email.
"""

import codecs
import datetime as dt
from pathlib import Path

import pytest

from service.ledger.attendance import KnownAttendee
from service.ledger.sessions import SessionRecord
from service.reports import ReportError, Stamp, read_stamp
from service.reports.parse import decode, read_report
from service.reports.proposal import (
    FACILITATOR,
    Proposal,
    Unmatched,
    display_name,
    judge_report,
    proposal_from,
)
from service.rules.participation import Limits

DATA = Path(__file__).parent / "data" / "reports"
SAMPLE = (DATA / "zoom-participants.csv").read_bytes()
MARCH_4 = dt.date(2026, 3, 4)


def session(
    *,
    date: dt.date = MARCH_4,
    start_time: str | None = "18:00",
    facilitators: tuple[str, ...] = ("Jane Doe",),
    timezone: str = "America/New_York",
    duration_minutes: int = 90,
) -> SessionRecord:
    return SessionRecord(
        id="ses_test",
        date=date,
        start_time=start_time,
        timezone=timezone,
        duration_minutes=duration_minutes,
        facilitators=facilitators,
        level="central",
        organization=None,
        title="IPS Co-reflection",
        delivery="online",
        owner_token_id=None,
        created_at="2026-03-01T00:00:00+00:00",
    )


def propose(
    data: bytes | str,
    record: SessionRecord | None = None,
    *,
    known: dict[str, KnownAttendee] | None = None,
    limits: Limits | None = None,
    facilitator_email: str | None = None,
) -> Proposal:
    """The proposal as the route builds it, with what the ledger knows given directly."""
    record = record or session()
    raw = data.encode() if isinstance(data, str) else data
    report = read_report(raw, record.date)
    return proposal_from(judge_report(report, record, limits or Limits(), facilitator_email), known or {})


def numbers(proposal: Proposal) -> dict[str, tuple[bool, int, int | None, int | None]]:
    """email: (full participation, minutes present, joined late, left early)."""
    return {
        a.email: (a.full_participation, a.minutes_present, a.joined_late_minutes, a.left_early_minutes)
        for a in proposal.attendees
    }


def notes(proposal: Proposal) -> dict[str, list[str]]:
    return {a.email: a.notes for a in proposal.attendees}


SAMPLE_NUMBERS = {
    "aroha@example.nz": (True, 90, 0, 0),
    "miguel.torres@example.com": (True, 87, 1, 0),
    "priya@example.in": (False, 65, 24, 0),
    "kai.becker@example.de": (False, 53, 2, 34),
}


# --- the sample ---------------------------------------------------------------------------------------


def test_sample_read_as_written():
    report = read_report(SAMPLE, MARCH_4)
    assert report.kind == "zoom"
    assert report.meeting_start == dt.datetime(2026, 3, 4, 18, 0)
    assert report.names_carry_original
    assert len(report.connections) == 7
    miguel = [c for c in report.connections if c.email == "miguel.torres@example.com"]
    assert [(c.joined, c.left) for c in miguel] == [
        (dt.datetime(2026, 3, 4, 18, 1, 13), dt.datetime(2026, 3, 4, 18, 40, 55)),
        (dt.datetime(2026, 3, 4, 18, 42, 30), dt.datetime(2026, 3, 4, 19, 30, 49)),
    ]


def test_sample_proposal():
    proposal = propose(SAMPLE)
    assert numbers(proposal) == SAMPLE_NUMBERS
    assert [a.name for a in proposal.attendees] == [
        "Aroha Ngata",
        "Miguel Ángel Torres",
        "Priya Raman",
        "Kai Becker",
    ]
    assert notes(proposal) == {
        "aroha@example.nz": [],
        "miguel.torres@example.com": ["joined 1 min late", "reconnected 1 time, away 1 min"],
        "priya@example.in": ["joined 24 min late (more than 15 min)"],
        "kai.becker@example.de": ["joined 2 min late", "left 34 min early (more than 10 min)"],
    }
    assert not any(a.core_trained for a in proposal.attendees)
    # Jane Doe (Host) is the facilitator: left out, and named as such after the others. Tom's iPhone has
    # no email: unmatched, with why.
    assert "jane.doe@ipscentral.test" not in numbers(proposal)
    tom, jane = proposal.unmatched
    assert tom.name == "Tom's iPhone"
    assert "No email" in tom.reason and "86 min" in tom.reason and "full participation" in tom.reason
    assert jane == Unmatched(name="Jane Doe", reason=FACILITATOR)
    assert FACILITATOR == "a facilitator of this session"
    assert proposal.notes == []  # the report's meeting start is the registered one


def test_sample_without_a_start_time_starts_at_the_reports_meeting_start():
    assert numbers(propose(SAMPLE, session(start_time=None))) == SAMPLE_NUMBERS


def test_start_time_is_the_registered_one_not_the_reports():
    later = numbers(propose(SAMPLE, session(start_time="18:10")))
    assert later["priya@example.in"][:3] == (True, 66, 14)
    assert later["kai.becker@example.de"][3] == 44


def test_what_an_earlier_list_says_wins_for_name_and_core_training():
    known = {
        "priya@example.in": KnownAttendee(name="Priya Raman-Iyer", core_trained=True),
        "aroha@example.nz": KnownAttendee(name="aroha ngata", core_trained=False),
    }
    proposal = propose(SAMPLE, known=known)
    by_email = {a.email: a for a in proposal.attendees}
    assert (by_email["priya@example.in"].name, by_email["priya@example.in"].core_trained) == (
        "Priya Raman-Iyer",
        True,
    )
    assert "the report says 'Priya Raman'" in " ".join(by_email["priya@example.in"].notes)
    # Only case differs: the earlier list's spelling, without a note.
    assert (by_email["aroha@example.nz"].name, by_email["aroha@example.nz"].notes) == ("aroha ngata", [])
    assert by_email["aroha@example.nz"].core_trained is False


def test_facilitators_are_left_out_by_name_and_by_the_tokens_email():
    proposal = propose(SAMPLE, facilitator_email="KAI.BECKER@example.de")
    assert set(numbers(proposal)) == {"aroha@example.nz", "miguel.torres@example.com", "priya@example.in"}
    co_facilitated = propose(SAMPLE, session(facilitators=("Jane Doe", "Becker, Kai")))
    assert "kai.becker@example.de" not in numbers(co_facilitated)


def test_configured_thresholds_change_the_judgement():
    lenient = numbers(propose(SAMPLE, limits=Limits(max_late_minutes=25, max_early_minutes=35)))
    assert lenient["priya@example.in"][0] and lenient["kai.becker@example.de"][0]


# --- the variants of the export -----------------------------------------------------------------------


def _sample_text() -> str:
    return SAMPLE.decode("utf-8")


def _with_header(header: str) -> str:
    lines = _sample_text().splitlines()
    lines[3] = header
    return "\n".join(lines) + "\n"


def _without_overview() -> str:
    return "\n".join(_sample_text().splitlines()[3:]) + "\n"


def _tabs() -> str:
    return _sample_text().replace(",", "\t")


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(_without_overview(), id="no overview block"),
        pytest.param(
            _with_header(
                "NAME (ORIGINAL NAME),USER EMAIL,JOIN TIME,LEAVE TIME,DURATION (MINUTES),GUEST,IN WAITING ROOM"
            ),
            id="upper case",
        ),
        pytest.param(
            _with_header(
                "Name (original name),Email,Join time,Leave time,Duration (minutes),Guest,In waiting room"
            ),
            id="newer casing, Email",
        ),
        pytest.param(
            "\n".join(
                line + (",Recording Consent" if n == 3 else ",Y" if n > 3 else ",")
                for n, line in enumerate(_sample_text().splitlines())
            )
            + "\n",
            id="Recording Consent column",
        ),
        pytest.param(
            "\n".join(",".join(f'"{c}"' for c in line.split(",")) for line in _sample_text().splitlines()),
            id="every cell quoted",
        ),
        pytest.param(_sample_text().replace("\n", "\r\n"), id="CRLF"),
        pytest.param(_tabs(), id="tab-separated"),
        pytest.param(codecs.BOM_UTF8 + SAMPLE, id="UTF-8 with BOM"),
        pytest.param(_sample_text().encode("utf-16"), id="UTF-16 LE with BOM"),
        pytest.param(codecs.BOM_UTF16_BE + _sample_text().encode("utf-16-be"), id="UTF-16 BE with BOM"),
        pytest.param(_sample_text().encode("utf-16-le"), id="UTF-16 LE without BOM"),
        pytest.param(_tabs().encode("utf-16"), id="UTF-16 and tabs"),
        pytest.param(_sample_text().encode("cp1252"), id="Windows-1252 (Excel)"),
    ],
)
def test_every_form_of_the_sample_gives_the_same_proposal(variant: str | bytes):
    proposal = propose(variant)
    assert numbers(proposal) == SAMPLE_NUMBERS
    assert "Miguel Ángel Torres" in [a.name for a in proposal.attendees]
    assert [u.name for u in proposal.unmatched] == ["Tom's iPhone", "Jane Doe"]


def test_newer_export_without_overview():
    """Lower-case headers, every cell quoted, waiting room and recording consent; a co-host co-facilitator,
    pronouns, a rename, two devices at once, a guest who reconnected, someone away 11 min, and a name
    close to a facilitator's."""
    proposal = propose(
        (DATA / "zoom-no-overview.csv").read_bytes(), session(facilitators=("Jane Doe", "Sam Lee"))
    )
    assert numbers(proposal) == {
        "aroha@example.nz": (True, 90, 0, 0),  # two devices: union (90), not the rows' sum (99)
        "PRIYA@example.in": (True, 75, 14, 0),  # admitted from the waiting room at 18:14:30
        "noor@example.org": (False, 76, 3, 0),
        "jayne.doe@example.org": (True, 90, 0, 0),
    }
    by_email = {a.email: a for a in proposal.attendees}
    assert by_email["aroha@example.nz"].name == "Aroha Ngata"  # without "(she/her)"
    assert by_email["aroha@example.nz"].notes == ["connected on two devices at once for 5 min (counted once)"]
    assert by_email["PRIYA@example.in"].name == "Priya R."  # the current name, without "(Priya Raman)"
    assert "waited 14 min in the waiting room (not counted as present)" in by_email["PRIYA@example.in"].notes
    assert (
        by_email["noor@example.org"].notes[-1] == "reconnected 1 time, away 11 min (more than 10 min in all)"
    )
    assert "close to the facilitator Jane Doe" in by_email["jayne.doe@example.org"].notes[0]
    chris, *facilitators = proposal.unmatched  # two rows without email, one person
    assert chris.name == "Chris Walker" and "88 min" in chris.reason
    assert [(u.name, u.reason) for u in facilitators] == [("Jane Doe", FACILITATOR), ("Sam Lee", FACILITATOR)]


def test_excel_resaved_semicolons_windows_1252_day_first():
    proposal = propose((DATA / "zoom-excel-semicolon-cp1252.csv").read_bytes())
    assert numbers(proposal) == {
        "miguel.torres@example.com": (True, 87, 1, 0),
        "zoe.mueller@example.de": (True, 75, 15, 0),  # exactly 15:00 late
        "kai.becker@example.de": (False, 74, 15, 0),  # 15:01 late
    }
    assert [a.name for a in proposal.attendees][:2] == ["Miguel Ángel Torres", "Zoë Müller"]
    assert notes(proposal)["kai.becker@example.de"] == ["joined 15 min 1 s late (more than 15 min)"]


def test_unique_users_export_cannot_show_lateness_so_nobody_is_proposed_full():
    report = read_report((DATA / "zoom-unique-users.csv").read_bytes(), MARCH_4)
    assert report.kind == "zoom_unique_users"
    proposal = propose((DATA / "zoom-unique-users.csv").read_bytes())
    assert numbers(proposal) == {
        "aroha@example.nz": (False, 90, None, None),  # 93 min in all, at most the session's 90
        "miguel.torres@example.com": (False, 89, None, None),
        "priya@example.in": (False, 67, None, None),
        "kai.becker@example.de": (False, 54, None, None),
    }
    assert all("unique users" in a.notes[0] and "yourself" in a.notes[0] for a in proposal.attendees)
    assert [u.name for u in proposal.unmatched] == ["Tom's iPhone", "Jane Doe"]


def test_unique_users_without_overview_or_start_time():
    text = "Name (Original Name),User Email,Total Duration (Minutes),Guest\nAroha Ngata,aroha@example.nz,93,Yes\n"
    assert numbers(propose(text, session(start_time=None))) == {"aroha@example.nz": (False, 90, None, None)}


HEADER = "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"


def test_a_connection_without_email_joins_the_one_person_of_that_name():
    text = HEADER + (
        "Kai Becker,kai.becker@example.de,03/04/2026 06:00:00 PM,03/04/2026 06:40:00 PM,40,Yes\n"
        "Kai Becker,,03/04/2026 06:41:00 PM,03/04/2026 07:30:00 PM,49,Yes\n"
    )
    proposal = propose(text)
    assert numbers(proposal) == {"kai.becker@example.de": (True, 89, 0, 0)}
    assert "includes a connection without email under the same name" in proposal.attendees[0].notes
    assert proposal.unmatched == []


def test_same_email_in_another_case_is_one_person_and_the_latest_name_is_proposed():
    text = HEADER + (
        "Miguel,Miguel.Torres@example.com,03/04/2026 06:00:00 PM,03/04/2026 06:40:00 PM,40,Yes\n"
        "Miguel Ángel Torres (Miguel),miguel.torres@EXAMPLE.com,03/04/2026 06:40:00 PM,03/04/2026 07:30:00 PM,50,Yes\n"
    )
    proposal = propose(text)
    assert [(a.name, a.full_participation, a.minutes_present) for a in proposal.attendees] == [
        ("Miguel Ángel Torres", True, 90)
    ]


def test_an_address_that_is_not_an_email_is_unmatched_with_the_reason():
    text = HEADER + "Ana Ruiz,ana.ruiz(at)example.org,03/04/2026 06:00:00 PM,03/04/2026 07:30:00 PM,90,Yes\n"
    proposal = propose(text)
    assert proposal.attendees == []
    [ana] = proposal.unmatched
    assert ana.name == "Ana Ruiz" and "'ana.ruiz(at)example.org' is not a valid address" in ana.reason


def test_a_renamed_facilitator_is_known_by_the_name_before_the_rename():
    """Zoom's "Current (Original)": "Sam (Co-host) (Sam Lee)" is the facilitator Sam Lee, renamed to Sam."""
    text = HEADER + (
        "Sam (Co-host) (Sam Lee),sam.personal@example.org,03/04/2026 05:50:00 PM,03/04/2026 07:30:00 PM,100,No\n"
        "Aroha Ngata,aroha@example.nz,03/04/2026 06:00:00 PM,03/04/2026 07:30:00 PM,90,Yes\n"
    )
    proposal = propose(text, session(facilitators=("Jane Doe", "Sam Lee")))
    assert set(numbers(proposal)) == {"aroha@example.nz"}
    assert proposal.unmatched == [Unmatched(name="Sam", reason=FACILITATOR)]


def test_the_facilitators_token_email_names_them_as_a_facilitator_too():
    proposal = propose(SAMPLE, facilitator_email="kai.becker@example.de")
    assert [(u.name, u.reason) for u in proposal.unmatched][1:] == [
        ("Jane Doe", FACILITATOR),
        ("Kai Becker", FACILITATOR),
    ]


def test_one_email_under_several_names_is_noted_with_every_name():
    text = HEADER + (
        "Ana Ruiz,frontdesk@clinic.org,03/04/2026 06:00:00 PM,03/04/2026 07:30:00 PM,90,Yes\n"
        "Ben Ode,frontdesk@clinic.org,03/04/2026 06:01:00 PM,03/04/2026 07:30:00 PM,89,Yes\n"
        "ana ruiz,frontdesk@clinic.org,03/04/2026 06:02:00 PM,03/04/2026 07:30:00 PM,88,Yes\n"
    )
    [shared] = propose(text).attendees
    assert shared.name == "ana ruiz"  # the last name, as before
    assert (
        "this email appears under 2 names (Ana Ruiz, Ben Ode): check that it is one person's (each attendee "
        "needs their own email); the last name is proposed"
    ) in shared.notes
    # One name in different case is one name.
    [single] = propose(
        HEADER
        + "Ana Ruiz,ana@example.org,03/04/2026 06:00:00 PM,03/04/2026 07:30:00 PM,90,Yes\n"
        + "ANA RUIZ,ana@example.org,03/04/2026 06:05:00 PM,03/04/2026 07:30:00 PM,85,Yes\n"
    ).attendees
    assert not any("names" in n for n in single.notes)


def test_a_missing_or_backward_leave_time_is_noted_naming_the_row():
    text = HEADER + (
        "Aroha Ngata,aroha@example.nz,03/04/2026 06:00:00 PM,03/04/2026 07:30:00 PM,90,Yes\n"
        "Wiremu Tane,wiremu@example.nz,03/04/2026 06:00:00 PM,-,90,Yes\n"
        "Yara Haddad,yara@example.org,03/04/2026 07:30:00 PM,03/04/2026 06:00:00 PM,90,Yes\n"
        "Zed Brown,zed@example.org,,,90,Yes\n"
        "Chris Walker,,03/04/2026 06:30:00 PM,,60,Yes\n"
    )
    proposal = propose(text)
    by_email = {a.email: a for a in proposal.attendees}
    assert numbers(proposal)["wiremu@example.nz"] == (False, 0, 90, 90)
    assert (
        "row 3 of the report has no leave time, so that connection is not counted"
        in by_email["wiremu@example.nz"].notes
    )
    assert (
        "row 4 of the report leaves (18:00:00) before it joins (19:30:00), so that connection is not counted"
        in by_email["yara@example.org"].notes
    )
    assert (
        "row 5 of the report has no join or leave time, so that connection is not counted"
        in by_email["zed@example.org"].notes
    )
    [chris] = proposal.unmatched
    assert "row 6 of the report has no leave time" in chris.reason


def test_a_report_without_one_usable_connection_is_refused():
    text = HEADER + (
        "Wiremu Tane,wiremu@example.nz,03/04/2026 06:00:00 PM,-,90,Yes\n"
        "Yara Haddad,yara@example.org,03/04/2026 07:30:00 PM,03/04/2026 06:00:00 PM,90,Yes\n"
    )
    for record in (session(), session(start_time=None)):
        with pytest.raises(ReportError) as refused:
            propose(text, record)
        assert "No row of the report has a join time and a later leave time" in str(refused.value)


def test_a_host_who_is_not_a_facilitator_stays_with_a_note():
    text = (
        HEADER
        + "Events Desk (Host),events@example.org,03/04/2026 05:50:00 PM,03/04/2026 07:30:00 PM,100,No\n"
    )
    [host] = propose(text).attendees
    assert host.name == "Events Desk" and host.notes == [
        "a host of the meeting, not a facilitator of this session"
    ]


def test_someone_only_there_before_the_session_is_listed_as_absent():
    text = HEADER + (
        "Sound Check,sound@example.org,03/04/2026 05:30:00 PM,03/04/2026 05:45:00 PM,15,Yes\n"
        "Aroha Ngata,aroha@example.nz,03/04/2026 06:00:00 PM,03/04/2026 07:30:00 PM,90,Yes\n"
    )
    early = propose(text).attendees[0]
    assert (early.full_participation, early.minutes_present) == (False, 0)
    assert early.notes == ["not in the meeting during the session"]


def test_a_report_in_which_nobody_was_there_during_the_session_is_refused():
    """Another meeting's report (or a wrong start time): a list of absentees would only mislead."""
    text = HEADER + (
        "Jane Doe (Host),jane.doe@ipscentral.test,03/04/2026 09:00:00 AM,03/04/2026 10:30:00 AM,90,No\n"
        "Aroha Ngata,aroha@example.nz,03/04/2026 09:00:00 AM,03/04/2026 10:30:00 AM,90,Yes\n"
    )
    with pytest.raises(ReportError) as refused:
        propose(text)
    assert "Nobody in this report was in the meeting during the session (18:00 to 19:30" in str(refused.value)
    assert "another meeting's report" in str(refused.value)
    # The same morning meeting is this session's when the session is registered in the morning.
    assert numbers(propose(text, session(start_time="09:00"))) == {"aroha@example.nz": (True, 90, 0, 0)}


def test_a_meeting_start_far_from_the_registered_start_is_noted():
    late_meeting = SAMPLE.replace(
        b"03/04/2026 06:00:00 PM,03/04/2026 07:32:10 PM", b"03/04/2026 06:16:00 PM,03/04/2026 07:32:10 PM"
    )
    assert late_meeting != SAMPLE
    [note] = propose(late_meeting).notes
    assert note.startswith(
        "The report's meeting started at 18:16 on 4 March 2026, 16 min after the session's"
    )
    assert "registered start (18:00)" in note
    # Within the late limit (15 min, by the exact seconds), nothing is said.
    on_time = SAMPLE.replace(
        b"03/04/2026 06:00:00 PM,03/04/2026 07:32:10 PM", b"03/04/2026 06:15:00 PM,03/04/2026 07:32:10 PM"
    )
    assert propose(on_time).notes == []


def test_without_start_time_or_overview_the_start_is_when_half_of_the_attendees_had_joined():
    """Not the earliest join of anyone: the host opens the meeting early and someone tests their audio for
    a minute, yet those on time are not late."""
    text = HEADER + (
        "Jane Doe (Host),jane.doe@ipscentral.test,03/04/2026 05:40:00 PM,03/04/2026 07:30:00 PM,110,No\n"
        "Events Desk (Co-host),events@example.org,03/04/2026 05:45:00 PM,03/04/2026 07:30:00 PM,105,No\n"
        "Aroha Ngata,aroha@example.nz,03/04/2026 05:30:00 PM,03/04/2026 05:31:00 PM,1,Yes\n"
        "Aroha Ngata,aroha@example.nz,03/04/2026 06:00:00 PM,03/04/2026 07:30:00 PM,90,Yes\n"
        "Miguel Torres,miguel@example.com,03/04/2026 05:58:00 PM,03/04/2026 07:30:00 PM,92,Yes\n"
        "Kai Becker,kai@example.de,03/04/2026 06:14:00 PM,03/04/2026 07:30:00 PM,76,Yes\n"
        "Priya Raman,priya@example.in,03/04/2026 06:20:00 PM,03/04/2026 07:30:00 PM,70,Yes\n"
    )
    proposal = propose(text, session(start_time=None))
    # Arrivals 17:58, 18:00, 18:14, 18:20: half had joined at 18:00, the start (the window 18:00-19:30).
    assert numbers(proposal) == {
        "events@example.org": (True, 90, 0, 0),
        "aroha@example.nz": (True, 90, 0, 0),
        "miguel@example.com": (True, 90, 0, 0),
        "kai@example.de": (True, 76, 14, 0),
        "priya@example.in": (False, 70, 20, 0),
    }
    [note] = proposal.notes
    assert "no registered start time and the report gives no meeting start" in note
    assert "taken as 18:00 (America/New_York)" in note and "half of the attendees" in note


def test_without_start_time_the_reports_meeting_start_is_taken_and_said():
    [note] = propose(SAMPLE, session(start_time=None)).notes
    assert note.startswith("The session has no registered start time: the report's meeting start, 18:00,")


def test_times_are_the_sessions_local_time_across_a_daylight_saving_change():
    # 8 March 2026, New York springs forward at 02:00: 01:30 EST plus 90 minutes is 04:00 EDT.
    text = HEADER + (
        "Night Owl,owl@example.org,03/08/2026 01:30:00 AM,03/08/2026 04:00:00 AM,90,Yes\n"
        "Early Leaver,leaver@example.org,03/08/2026 01:30:00 AM,03/08/2026 03:00:00 AM,30,Yes\n"
    )
    record = session(date=dt.date(2026, 3, 8), start_time="01:30")
    assert numbers(propose(text, record)) == {
        "owl@example.org": (True, 90, 0, 0),
        "leaver@example.org": (False, 30, 0, 60),
    }


def test_another_time_zone_reads_the_report_in_it():
    record = session(timezone="Europe/Berlin")
    assert numbers(propose(SAMPLE, record)) == SAMPLE_NUMBERS


# --- names --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "carries_original", "name", "host"),
    [
        ("Miguel Ángel Torres (Miguel)", True, "Miguel Ángel Torres", False),
        ("Jane Doe (Host)", True, "Jane Doe", True),
        ("Sam Lee (Co-host)", True, "Sam Lee", True),
        ("Sam Lee (Co-host) (Samuel)", True, "Sam Lee", True),
        ("Aroha Ngata (she/her)", True, "Aroha Ngata", False),
        ("Kai (they/them) (Kai Becker)", True, "Kai", False),
        ("Priya (she/they)", False, "Priya", False),
        ("Robert (Bob) Smith", True, "Robert (Bob) Smith", False),
        ("Dana Fox (Dana)", False, "Dana Fox (Dana)", False),
        ("(Miguel)", True, "Miguel", False),
        ("Lin Mei (Guest)", False, "Lin Mei", False),
        ("Chris Walker (Unverified)", False, "Chris Walker", False),
        ("  Zoë   Müller ", False, "Zoë Müller", False),
        ("Nguye\u0302\u0303n Thi\u0323 Minh", False, "Nguyễn Thị Minh", False),
        ("Tab\tin\x01name", False, "Tab inname", False),
    ],
)
def test_display_names_lose_tags_pronouns_and_the_original_name(raw, carries_original, name, host):
    assert display_name(raw, carries_original) == (name, host)


# --- moments ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "month_first", "day_first"),
    [
        ("03/04/2026 06:00:00 PM", (2026, 3, 4, 18, 0, 0), (2026, 4, 3, 18, 0, 0)),
        ("03/04/2026 12:00:00 AM", (2026, 3, 4, 0, 0, 0), (2026, 4, 3, 0, 0, 0)),
        ("03/04/2026 12:30:05 PM", (2026, 3, 4, 12, 30, 5), (2026, 4, 3, 12, 30, 5)),
        ("3/4/26, 6:00:02\u202fPM", (2026, 3, 4, 18, 0, 2), (2026, 4, 3, 18, 0, 2)),
        ("3/4/26, 6:00:02 p.m.", (2026, 3, 4, 18, 0, 2), (2026, 4, 3, 18, 0, 2)),
        ("15/11/22, 09:30:17", None, (2022, 11, 15, 9, 30, 17)),
        ("04.03.2026 18:01", (2026, 4, 3, 18, 1, 0), (2026, 3, 4, 18, 1, 0)),
        ("2026-03-04 18:00:02", (2026, 3, 4, 18, 0, 2), (2026, 3, 4, 18, 0, 2)),
        ("2026-03-04T18:00:02.123", (2026, 3, 4, 18, 0, 2), (2026, 3, 4, 18, 0, 2)),
        ("Mar 4, 2026 06:00 PM", (2026, 3, 4, 18, 0, 0), (2026, 3, 4, 18, 0, 0)),
        ("4 March 2026 18:00", (2026, 3, 4, 18, 0, 0), (2026, 3, 4, 18, 0, 0)),
    ],
)
def test_moments_as_zoom_and_teams_write_them(text, month_first, day_first):
    stamp = read_stamp(text)
    assert isinstance(stamp, Stamp)
    for order, expected in ((False, month_first), (True, day_first)):
        moment = stamp.reading(order)
        assert moment is None if expected is None else moment == dt.datetime(*expected), (text, order)


@pytest.mark.parametrize("text", ["", "  ", "--"])
def test_an_empty_time_is_none(text):
    assert read_stamp(text) is None


@pytest.mark.parametrize(
    "text", ["yesterday", "13:00:00 PM", "03/04/2026 25:00", "03/04/2026", "03/04/2026 6:61", "1234/5/6 7:00"]
)
def test_text_that_is_no_moment_is_refused(text):
    with pytest.raises(ReportError):
        read_stamp(text)


# --- what is not a Zoom report ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"   \r\n\n", "empty"),
        (codecs.BOM_UTF16_LE, "empty"),
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "xlsx"),
        (bytes(range(256)) * 20, "not text"),
        (b"first,last,score\nAda,Lovelace,10\n", "not an attendance report"),
        (b"Name (Original Name),User Email,Join Time,Leave Time\n", "no participants"),
        (HEADER.encode() + b"Kai,kai@example.de,tomorrow,later,1,Yes\n", "Row 2"),
        (
            HEADER.encode() + b"Kai,kai@example.de,13/13/2026 06:00:00 PM,13/13/2026 07:00:00 PM,1,Yes\n",
            "not real dates",
        ),
        (
            HEADER.replace("Join Time,Leave Time", "Total Duration (Minutes)").encode()
            + b"Kai,kai@x.de,lots,Yes\n",
            "minutes",
        ),
    ],
)
def test_what_is_not_a_report_says_why(data, words):
    with pytest.raises(ReportError) as refused:
        read_report(data, MARCH_4)
    assert words in str(refused.value)


def test_the_refusal_of_an_unknown_file_says_what_was_expected():
    with pytest.raises(ReportError) as refused:
        read_report(b"first,last,score\nAda,Lovelace,10\n", MARCH_4)
    message = str(refused.value)
    assert "Zoom participant report" in message and "Microsoft Teams attendance report" in message
    assert "UTF-16" in message and "tab" in message


@pytest.mark.parametrize(
    ("moment", "where"),
    [
        ("01/01/0001 12:00:00 AM", "Row 3: the join time, 1 January 1, 00:00:00"),
        ("12/31/9999 11:59:59 PM", "Row 3: the join time, 31 December 9999, 23:59:59"),
        ("03/07/2026 06:00:00 PM", "Row 3: the join time, 7 March 2026, 18:00:00"),
    ],
)
def test_a_time_far_from_the_sessions_date_is_refused_naming_its_row(moment: str, where: str):
    """Not a 500 (a date beyond what the clock reaches), and not present all along."""
    text = HEADER + (
        "Aroha Ngata,aroha@example.nz,03/04/2026 06:00:00 PM,03/04/2026 07:30:00 PM,90,Yes\n"
        f"Miguel Torres,miguel@example.com,{moment},03/04/2026 07:30:00 PM,90,Yes\n"
    )
    for zone in ("America/New_York", "Asia/Tokyo", "Pacific/Kiritimati"):
        with pytest.raises(ReportError) as refused:
            propose(text, session(timezone=zone))
        assert str(refused.value).startswith(where) and "within 2 days of the session's date" in str(
            refused.value
        )
    # Two days off is still the same meeting, seen across the date line and midnight.
    near = text.replace(moment, "03/02/2026 11:00:00 PM")
    assert numbers(propose(near))["miguel@example.com"] == (True, 90, 0, 0)


def test_a_meeting_start_far_from_the_sessions_date_is_refused():
    far = SAMPLE.replace(b"03/04/2026 06:00:00 PM,03/04/2026 07:32:10 PM", b"12/31/9999 11:00:00 PM,")
    assert far != SAMPLE
    with pytest.raises(ReportError) as refused:
        read_report(far, MARCH_4)
    assert "The meeting's start time, 31 December 9999, 23:00:00, is not within 2 days" in str(refused.value)


def test_a_report_of_another_day_is_refused():
    with pytest.raises(ReportError) as refused:
        read_report(SAMPLE, dt.date(2026, 3, 11))
    assert "meeting on 4 March 2026" in str(refused.value) and "11 March 2026" in str(refused.value)
    # A day off is the same meeting seen across the date line.
    assert read_report(SAMPLE, dt.date(2026, 3, 5)).kind == "zoom"


def test_declared_charset_is_used_when_there_is_no_byte_order_mark():
    text = "Name,Email\nŁucja Nowak,lucja@example.pl\n"
    assert decode(text.encode("iso-8859-2"), "iso-8859-2") == text
    assert decode(text.encode("utf-8"), "no-such-charset") == text
