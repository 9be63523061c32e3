"""decide_request, table-driven: one row per reason of SPEC §3 and per matching rule, plus near-misses."""

import datetime as dt

import pytest

from service.rules.requests import (
    Action,
    Entry,
    HeldCertificate,
    Outcome,
    Reason,
    RequestFacts,
    SessionFacts,
    decide_request,
    no_session_outcome,
)

TODAY = dt.date(2026, 3, 10)
D = dt.date(2026, 3, 4)
EMAIL = "minh@example.org"


def entry(name: str = "Nguyễn Thị Minh", core: bool = True, full: bool = True) -> Entry:
    return Entry(name=name, email=EMAIL, core_trained=core, full_participation=full)


def session(
    sid: str,
    *,
    date: dt.date = D,
    start: str | None = "18:00",
    facilitators: tuple[str, ...] = ("Jane Doe",),
    level: str = "central",
    delivery: str = "online",
    version: int | None = 1,
    on_list: Entry | None = None,
    held: HeldCertificate | None = None,
) -> SessionFacts:
    return SessionFacts(
        id=sid,
        date=date,
        start_time=start,
        facilitators=facilitators,
        level=level,
        delivery=delivery,
        list_version=version,
        entry=on_list,
        certificate=held,
    )


def ask(facilitator: str | None = "Jane Doe", date: dt.date = D, start: str | None = None) -> RequestFacts:
    return RequestFacts(date=date, facilitator=facilitator, start_time=start)


REVOKED = HeldCertificate(
    serial="CL-1", holder_name="Nguyễn Thị Minh", revoked=True, list_version_at_revocation=1
)

# (case, request, sessions, expected outcome, expected reason, expected session id)
REASONS = [
    ("eligible: issued", ask(), [session("a", on_list=entry())], Outcome.ISSUED, None, "a"),
    ("no session that date, recent: pending", ask(), [], Outcome.PENDING, Reason.NO_SESSION, None),
    (
        "no session that date, long ago: rejected",
        ask(date=dt.date(2026, 1, 2)),
        [],
        Outcome.REJECTED,
        Reason.NO_SESSION,
        None,
    ),
    (
        "hub session",
        ask(),
        [session("h", level="hub", on_list=entry())],
        Outcome.REJECTED,
        Reason.HUB_SESSION,
        "h",
    ),
    (
        "hub beats a missing list (table order)",
        ask(),
        [session("h", level="hub", version=None)],
        Outcome.REJECTED,
        Reason.HUB_SESSION,
        "h",
    ),
    (
        "list not submitted: pending",
        ask(),
        [session("a", version=None)],
        Outcome.PENDING,
        Reason.LIST_NOT_SUBMITTED,
        "a",
    ),
    ("not on the list", ask(), [session("a")], Outcome.REJECTED, Reason.NOT_ON_LIST, "a"),
    (
        "not core trained",
        ask(),
        [session("a", on_list=entry(core=False))],
        Outcome.REJECTED,
        Reason.NOT_CORE_TRAINED,
        "a",
    ),
    (
        "core training wins over participation (table order)",
        ask(),
        [session("a", on_list=entry(core=False, full=False))],
        Outcome.REJECTED,
        Reason.NOT_CORE_TRAINED,
        "a",
    ),
    (
        "incomplete participation",
        ask(),
        [session("a", on_list=entry(full=False))],
        Outcome.REJECTED,
        Reason.INCOMPLETE_PARTICIPATION,
        "a",
    ),
    ("revoked", ask(), [session("a", on_list=entry(), held=REVOKED)], Outcome.REJECTED, Reason.REVOKED, "a"),
    (
        "revoked, a later list with the same entry does not re-open it",
        ask(),
        [session("a", version=2, on_list=entry(), held=REVOKED)],
        Outcome.REJECTED,
        Reason.REVOKED,
        "a",
    ),
    (
        "ambiguous: eligible in two sessions, no name",
        ask(facilitator=None),
        [
            session("a", on_list=entry()),
            session("b", start="10:00", facilitators=("Sam Lee",), on_list=entry()),
        ],
        Outcome.REJECTED,
        Reason.AMBIGUOUS,
        None,
    ),
]


@pytest.mark.parametrize(
    ("request_facts", "sessions", "outcome", "reason", "session_id"),
    [pytest.param(*row[1:], id=row[0]) for row in REASONS],
)
def test_each_reason(request_facts, sessions, outcome, reason, session_id):
    decision = decide_request(request_facts, sessions, TODAY)
    assert (decision.outcome, decision.reason) == (outcome, reason)
    assert (decision.session.id if decision.session else None) == session_id


JANE = dict(facilitators=("Jane Doe",))
JOHN = dict(facilitators=("John Doe",), start="10:00")
JANE_S = dict(facilitators=("Jane Smith",), start="12:00")

# (case, request, sessions, expected session id or None for ambiguous)
MATCHING = [
    (
        "the list decides: eligible in one session, any name",
        ask("Totally Wrong"),
        [session("a", on_list=entry()), session("b", start="10:00", facilitators=("Sam Lee",))],
        "a",
    ),
    (
        "the list decides: eligible in one session, no name",
        ask(None),
        [session("a", on_list=entry()), session("b", start="10:00", facilitators=("Sam Lee",))],
        "a",
    ),
    (
        "case and accents",
        ask("jAne dOé"),
        [session("a", on_list=entry(), **JANE), session("b", on_list=entry(), **JOHN)],
        "a",
    ),
    (
        "extra spaces",
        ask("  Jane   Doe "),
        [session("a", on_list=entry(), **JANE), session("b", on_list=entry(), **JOHN)],
        "a",
    ),
    (
        "first name alone",
        ask("Jane"),
        [session("a", on_list=entry(), **JANE), session("b", on_list=entry(), **JOHN)],
        "a",
    ),
    (
        "surname alone when unique that day",
        ask("Smith"),
        [session("a", on_list=entry(), **JANE), session("c", on_list=entry(), **JANE_S)],
        "c",
    ),
    (
        "surname shared by two: no choice",
        ask("Doe"),
        [session("a", on_list=entry(), **JANE), session("b", on_list=entry(), **JOHN)],
        None,
    ),
    (
        "a small misspelling",
        ask("Jayne Doe"),
        [session("a", on_list=entry(), **JANE), session("b", on_list=entry(), **JOHN)],
        "a",
    ),
    (
        "any co-facilitator",
        ask("Sam Lee"),
        [
            session("a", on_list=entry(), facilitators=("Jane Doe", "Sam Lee")),
            session("b", on_list=entry(), **JOHN),
        ],
        "a",
    ),
    (
        "near miss: two Janes, eligible in both",
        ask("Jane"),
        [session("a", on_list=entry(), **JANE), session("c", on_list=entry(), **JANE_S)],
        None,
    ),
    (
        "start time picks one of two Janes",
        ask("Jane", start="12:00"),
        [session("a", on_list=entry(), **JANE), session("c", on_list=entry(), **JANE_S)],
        "c",
    ),
    (
        "start time alone picks among sessions",
        ask(None, start="10:00"),
        [session("a", on_list=entry(), **JANE), session("b", on_list=entry(), **JOHN)],
        "b",
    ),
    (
        "date line: online session dated the day before, on its list",
        ask("Jane Doe", date=D + dt.timedelta(days=1)),
        [session("a", on_list=entry())],
        "a",
    ),
    (
        "date line: online session dated the day after, on its list",
        ask("Jane Doe", date=D - dt.timedelta(days=1)),
        [session("a", on_list=entry())],
        "a",
    ),
]


@pytest.mark.parametrize(
    ("request_facts", "sessions", "session_id"), [pytest.param(*row[1:], id=row[0]) for row in MATCHING]
)
def test_matching_rules(request_facts, sessions, session_id):
    decision = decide_request(request_facts, sessions, TODAY)
    if session_id is None:
        assert decision.reason is Reason.AMBIGUOUS
        assert decision.session is None
        assert len(decision.candidates) >= 2
    else:
        assert decision.outcome is Outcome.ISSUED, decision
        assert decision.session is not None and decision.session.id == session_id


def test_ambiguous_names_the_narrowed_candidates():
    sessions = [
        session("a", on_list=entry(), **JANE),
        session("c", on_list=entry(), **JANE_S),
        session("s", on_list=entry(), facilitators=("Sam Lee",), start="20:00"),
    ]
    decision = decide_request(ask("Jane"), sessions, TODAY)
    assert decision.reason is Reason.AMBIGUOUS
    assert {s.id for s in decision.candidates} == {"a", "c"}


def test_date_line_does_not_apply_to_in_person_sessions():
    decision = decide_request(
        ask("Jane Doe", date=D + dt.timedelta(days=1)),
        [session("a", delivery="in_person", on_list=entry())],
        TODAY,
    )
    assert decision.reason is Reason.NO_SESSION


def test_date_line_needs_the_email_on_that_list():
    decision = decide_request(ask("Jane Doe", date=D + dt.timedelta(days=1)), [session("a")], TODAY)
    assert decision.reason is Reason.NO_SESSION


def test_exact_date_list_wins_over_the_date_line():
    """On the exact date's list (not eligible) and eligible a day off: the exact date is meant."""
    sessions = [
        session("exact", date=D, on_list=entry(full=False), facilitators=("Sam Lee",)),
        session("dayoff", date=D - dt.timedelta(days=1), on_list=entry()),
    ]
    decision = decide_request(ask(None, date=D), sessions, TODAY)
    assert decision.reason is Reason.INCOMPLETE_PARTICIPATION
    assert decision.session is not None and decision.session.id == "exact"


def test_named_session_without_list_is_pending_even_if_on_another_list():
    sessions = [
        session("bob", on_list=entry(full=False), facilitators=("Bob Ray",)),
        session("jane", version=None, start="10:00"),
    ]
    decision = decide_request(ask("Jane Doe"), sessions, TODAY)
    assert (decision.outcome, decision.reason) == (Outcome.PENDING, Reason.LIST_NOT_SUBMITTED)
    assert decision.session is not None and decision.session.id == "jane"


def test_no_name_on_a_list_but_eligible_nowhere_gives_that_lists_reason():
    sessions = [
        session("bob", on_list=entry(core=False), facilitators=("Bob Ray",)),
        session("jane", start="10:00"),
    ]
    decision = decide_request(ask(None), sessions, TODAY)
    assert decision.reason is Reason.NOT_CORE_TRAINED
    assert decision.session is not None and decision.session.id == "bob"


def test_name_matching_no_session_that_day_stays_pending():
    """Jane's session may not be registered yet; Bob's list does not have this email."""
    decision = decide_request(ask("Jane Doe"), [session("bob", facilitators=("Bob Ray",))], TODAY)
    assert (decision.outcome, decision.reason) == (Outcome.PENDING, Reason.NO_SESSION)


def test_unknown_name_with_one_session_without_list_and_no_name():
    decision = decide_request(ask(None), [session("a", version=None)], TODAY)
    assert (decision.outcome, decision.reason) == (Outcome.PENDING, Reason.LIST_NOT_SUBMITTED)


def test_eligible_beats_revoked_elsewhere_that_day():
    sessions = [
        session("revoked", on_list=entry(), held=REVOKED, facilitators=("Bob Ray",)),
        session("fine", on_list=entry(), start="10:00"),
    ]
    decision = decide_request(ask("Bob Ray"), sessions, TODAY)
    assert decision.outcome is Outcome.ISSUED
    assert decision.session is not None and decision.session.id == "fine"


@pytest.mark.parametrize(
    ("held", "on_list", "version", "action", "reason"),
    [
        pytest.param(None, entry(), 1, Action.ISSUE, None, id="first certificate"),
        pytest.param(
            HeldCertificate(serial="CL-1", holder_name="Nguyễn Thị Minh"),
            entry(),
            1,
            Action.REUSE,
            None,
            id="same again",
        ),
        pytest.param(
            HeldCertificate(serial="CL-1", holder_name="Nguyen Thi Minh"),
            entry(),
            2,
            Action.SUPERSEDE,
            None,
            id="corrected name on a later list: re-issue",
        ),
        pytest.param(
            HeldCertificate(serial="CL-1", holder_name="Nguyễn Thị Minh"),
            entry(full=False),
            2,
            Action.REUSE,
            None,
            id="a later list no longer eligible: the certificate stands (staff decide)",
        ),
        pytest.param(
            HeldCertificate(
                serial="CL-1", holder_name="Nguyen Thi Minh", revoked=True, list_version_at_revocation=1
            ),
            entry(),
            2,
            Action.SUPERSEDE,
            None,
            id="revoked, then a list version corrects the entry",
        ),
        pytest.param(
            HeldCertificate(
                serial="CL-1", holder_name="Nguyen Thi Minh", revoked=True, list_version_at_revocation=2
            ),
            entry(),
            2,
            Action.NONE,
            Reason.REVOKED,
            id="revoked after the corrected list was already in",
        ),
    ],
)
def test_certificate_actions(held, on_list, version, action, reason):
    decision = decide_request(ask(), [session("a", version=version, on_list=on_list, held=held)], TODAY)
    assert (decision.action, decision.reason) == (action, reason)


@pytest.mark.parametrize(
    ("date", "outcome"),
    [
        (TODAY + dt.timedelta(days=1), Outcome.PENDING),
        (TODAY, Outcome.PENDING),
        (TODAY - dt.timedelta(days=30), Outcome.PENDING),
        (TODAY - dt.timedelta(days=31), Outcome.REJECTED),
        (TODAY + dt.timedelta(days=2), Outcome.REJECTED),
    ],
)
def test_no_session_window(date, outcome):
    assert no_session_outcome(date, TODAY) is outcome


JANE_WAITING = session("jane", version=None, facilitators=("Jane Doe",), start="18:00")
BOB_REVOKED = session("bob", on_list=entry(), held=REVOKED, facilitators=("Bob Ray",), start="10:00")

# (case, request, sessions, outcome, reason, session id) — cases found in review, each a wrong answer once.
REVIEWED = [
    (
        "the named session of the exact date beats the date line",
        ask("Jane Doe"),
        [
            JANE_WAITING,
            session("sam", date=D - dt.timedelta(days=1), facilitators=("Sam Lee",), on_list=entry()),
        ],
        Outcome.PENDING,
        Reason.LIST_NOT_SUBMITTED,
        "jane",
    ),
    (
        "a revocation elsewhere that day does not answer for the named session",
        ask("Jane Doe"),
        [BOB_REVOKED, JANE_WAITING],
        Outcome.PENDING,
        Reason.LIST_NOT_SUBMITTED,
        "jane",
    ),
    (
        "a revocation elsewhere does not hide the named session's own reason",
        ask("Jane Doe"),
        [BOB_REVOKED, session("jane", on_list=entry(core=False), facilitators=("Jane Doe",))],
        Outcome.REJECTED,
        Reason.NOT_CORE_TRAINED,
        "jane",
    ),
    (
        "revoked in the only session that names the attendee",
        ask(None),
        [BOB_REVOKED, session("other", facilitators=("Sam Lee",))],
        Outcome.REJECTED,
        Reason.REVOKED,
        "bob",
    ),
    (
        "on no list, no name: a hub session that day does not explain it",
        ask(None),
        [
            session("hub", level="hub", facilitators=("Hana Hub",)),
            session("central", facilitators=("Jane Doe",), start="10:00"),
        ],
        Outcome.REJECTED,
        Reason.NOT_ON_LIST,
        "central",
    ),
    (
        "no name: a session still waiting for its list holds the date line back",
        ask(None),
        [
            JANE_WAITING,
            session("sam", date=D - dt.timedelta(days=1), facilitators=("Sam Lee",), on_list=entry()),
        ],
        Outcome.PENDING,
        Reason.LIST_NOT_SUBMITTED,
        "jane",
    ),
    (
        "a name that fits no exact session: the date line",
        ask("Sam Lee"),
        [
            JANE_WAITING,
            session("sam", date=D - dt.timedelta(days=1), facilitators=("Sam Lee",), on_list=entry()),
        ],
        Outcome.ISSUED,
        None,
        "sam",
    ),
]


@pytest.mark.parametrize(
    ("request_facts", "sessions", "outcome", "reason", "session_id"),
    [pytest.param(*row[1:], id=row[0]) for row in REVIEWED],
)
def test_reviewed_cases(request_facts, sessions, outcome, reason, session_id):
    decision = decide_request(request_facts, sessions, TODAY)
    assert (decision.outcome, decision.reason) == (outcome, reason)
    assert (decision.session.id if decision.session else None) == session_id
