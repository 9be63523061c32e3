"""Deciding a certificate request: which session the attendee means, and whether it earns a certificate.

SPEC §3 is the source of every rule here; the seed behind it: only core-trained people belong in an IPS
co-reflection, a certificate needs full participation, and hub / local sessions are not issued IPS Central
certificates. The attendee list is the authority; the facilitator's name only chooses among sessions.
"""

import datetime as dt
import enum

import msgspec

from service.rules.names import NONE, name_score

PENDING_WINDOW_DAYS = 30


class Outcome(enum.StrEnum):
    ISSUED = "issued"
    PENDING = "pending"
    REJECTED = "rejected"


class Reason(enum.StrEnum):
    """In SPEC §3's order: when several apply to one session, the first is given."""

    NO_SESSION = "no_session"
    HUB_SESSION = "hub_session"
    LIST_NOT_SUBMITTED = "list_not_submitted"
    NOT_ON_LIST = "not_on_list"
    NOT_CORE_TRAINED = "not_core_trained"
    INCOMPLETE_PARTICIPATION = "incomplete_participation"
    REVOKED = "revoked"
    AMBIGUOUS = "ambiguous"


REASON_ORDER = list(Reason)


class Action(enum.StrEnum):
    NONE = "none"  # nothing to issue: pending or rejected
    REUSE = "reuse"  # the attendee already holds a valid certificate for the session
    ISSUE = "issue"  # a first certificate
    SUPERSEDE = "supersede"  # a corrected list entry replaces the current certificate


class Entry(msgspec.Struct, frozen=True):
    """This attendee's row on a session's latest attendee list."""

    name: str
    email: str
    core_trained: bool
    full_participation: bool


class HeldCertificate(msgspec.Struct, frozen=True):
    """The attendee's current (not superseded) certificate for a session."""

    serial: str
    holder_name: str
    revoked: bool = False
    list_version_at_revocation: int | None = None


class SessionFacts(msgspec.Struct, frozen=True, kw_only=True):
    """A session as one attendee's request sees it."""

    id: str
    date: dt.date
    start_time: str | None
    facilitators: tuple[str, ...]
    level: str
    delivery: str
    list_version: int | None
    entry: Entry | None
    certificate: HeldCertificate | None = None


class RequestFacts(msgspec.Struct, frozen=True, kw_only=True):
    date: dt.date
    facilitator: str | None = None
    start_time: str | None = None


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    outcome: Outcome
    reason: Reason | None
    action: Action = Action.NONE
    session: SessionFacts | None = None
    candidates: tuple[SessionFacts, ...] = ()


def session_standing(session: SessionFacts) -> Reason | None:
    """Why this session gives the attendee no certificate, or None when it does."""
    if session.level != "central":
        return Reason.HUB_SESSION
    held = session.certificate
    if held is not None and not held.revoked:
        # A later list does not revoke a certificate by itself (SPEC §3): staff decide.
        return None
    if session.list_version is None:
        return Reason.LIST_NOT_SUBMITTED
    entry = session.entry
    if entry is None:
        return Reason.NOT_ON_LIST
    if not entry.core_trained:
        return Reason.NOT_CORE_TRAINED
    if not entry.full_participation:
        return Reason.INCOMPLETE_PARTICIPATION
    if held is not None and not _corrected_since_revocation(held, session):
        return Reason.REVOKED
    return None


def _corrected_since_revocation(held: HeldCertificate, session: SessionFacts) -> bool:
    """Only a list version after the revocation that changes the entry re-opens issuance (SPEC §6)."""
    return (
        held.list_version_at_revocation is not None
        and session.list_version is not None
        and session.list_version > held.list_version_at_revocation
        and session.entry is not None
        and session.entry.name != held.holder_name
    )


def _action_for(session: SessionFacts) -> Action:
    held, entry = session.certificate, session.entry
    if held is None:
        return Action.ISSUE
    if held.revoked:
        return Action.SUPERSEDE
    eligible_now = entry is not None and entry.core_trained and entry.full_participation
    if eligible_now and entry is not None and entry.name != held.holder_name:
        return Action.SUPERSEDE
    return Action.REUSE


def _decide_for(session: SessionFacts) -> Decision:
    reason = session_standing(session)
    if reason is None:
        return Decision(outcome=Outcome.ISSUED, reason=None, action=_action_for(session), session=session)
    outcome = Outcome.PENDING if reason is Reason.LIST_NOT_SUBMITTED else Outcome.REJECTED
    return Decision(outcome=outcome, reason=reason, session=session)


def _narrow(request: RequestFacts, sessions: list[SessionFacts]) -> list[SessionFacts]:
    """Start time, then the facilitator's name, choose among sessions; a tie chooses nothing."""
    if request.start_time is not None:
        timed = [s for s in sessions if s.start_time == request.start_time]
        sessions = timed or sessions
    if request.facilitator and len(sessions) > 1:
        scores = [name_score(request.facilitator, s.facilitators) for s in sessions]
        best = max(scores)
        if best > NONE:
            sessions = [s for s, score in zip(sessions, scores, strict=True) if score == best]
    return sessions


def _pick(request: RequestFacts, meant: list[SessionFacts]) -> Decision:
    narrowed = _narrow(request, meant)
    if len(narrowed) == 1:
        return _decide_for(narrowed[0])
    return Decision(
        outcome=Outcome.REJECTED,
        reason=Reason.AMBIGUOUS,
        candidates=tuple(sorted(narrowed, key=lambda s: (s.date, s.start_time or "", s.id))),
    )


def _explain(sessions: list[SessionFacts]) -> Decision:
    """None of these sessions gives a certificate: say why, hopefully first.

    Sessions whose list names the attendee explain best. A session still waiting for its list keeps
    the request pending: refusing now could cost someone a certificate they earned. A hub session
    explains only when it is the only kind there is (SPEC §3: "the only matching session is hub").
    """
    on_list = [s for s in sessions if s.entry is not None]
    pool = on_list or sessions
    waiting = [s for s in pool if session_standing(s) is Reason.LIST_NOT_SUBMITTED]
    if waiting:
        return _decide_for(waiting[0])
    central = [s for s in pool if s.level == "central"] or pool
    return min((_decide_for(s) for s in central), key=lambda d: REASON_ORDER.index(d.reason))


def _eligible(sessions: list[SessionFacts]) -> list[SessionFacts]:
    return [s for s in sessions if session_standing(s) is None]


def _exact_sessions_meant(request: RequestFacts, exact: list[SessionFacts]) -> list[SessionFacts]:
    """The sessions of the exact date the request can mean when the attendee is eligible in none.

    With a name: the sessions it names, else those whose list has the attendee. Without one: those
    whose list has the attendee, and central sessions still waiting for a list (it may have them).
    """
    on_list = [s for s in exact if s.entry is not None]
    if request.facilitator:
        named = [s for s in _narrow(request, exact) if _names_match(request, s)]
        return named or on_list
    waiting = [s for s in exact if s.level == "central" and s.list_version is None]
    return on_list or waiting


def no_session_outcome(date: dt.date, today: dt.date) -> Outcome:
    """Pending while the facilitator may still register it: the last 30 days, today and tomorrow."""
    earliest = today - dt.timedelta(days=PENDING_WINDOW_DAYS)
    latest = today + dt.timedelta(days=1)
    return Outcome.PENDING if earliest <= date <= latest else Outcome.REJECTED


def decide_request(request: RequestFacts, sessions: list[SessionFacts], today: dt.date) -> Decision:
    """Decide a request against the sessions within a day of its date.

    `sessions` holds every session dated request.date ± 1 (their local dates) as this attendee sees it;
    `today` is the UTC date.
    """
    exact = [s for s in sessions if s.date == request.date]
    if eligible := _eligible(exact):
        return _pick(request, eligible)
    if meant := _exact_sessions_meant(request, exact):
        return _explain(meant)
    # Online sessions cross time zones: a date one day off matches through the list (the date line),
    # when no session of the exact date can be meant.
    adjacent = [s for s in sessions if abs((s.date - request.date).days) == 1 and s.delivery == "online"]
    if eligible := _eligible(adjacent):
        return _pick(request, eligible)
    if on_list := [s for s in adjacent if s.entry is not None]:
        return _explain(on_list)
    if not request.facilitator and exact:
        return _explain(_narrow(request, exact))
    return Decision(outcome=no_session_outcome(request.date, today), reason=Reason.NO_SESSION)


def _names_match(request: RequestFacts, session: SessionFacts) -> bool:
    return request.facilitator is not None and name_score(request.facilitator, session.facilitators) > NONE
