"""The one or two plain sentences an attendee reads about their request (the API's `message`).

Written for a person who may need this certificate for their credential: say what happened, and what
they can do next. Never mention anyone else's details.
"""

import datetime as dt

from service.rules.requests import Decision, Outcome, Reason, SessionFacts
from service.rules.wording import join_names, long_date


def describe_session(session: SessionFacts) -> str:
    when = long_date(session.date)
    if session.start_time:
        when += f" at {session.start_time}"
    return f"the session on {when} with {join_names(session.facilitators)}"


def message_for(decision: Decision, request_date: dt.date, issuer: str) -> str:
    session = decision.session
    about = describe_session(session) if session else f"{long_date(request_date)}"
    match decision.reason:
        case None:
            return f"Your certificate of attendance for {about} is attached."
        case Reason.NO_SESSION if decision.outcome is Outcome.PENDING:
            return (
                f"We have no {issuer} session on record for {about} yet. Facilitators sometimes "
                "register sessions a few days late; we will send your certificate automatically "
                "once it is recorded."
            )
        case Reason.NO_SESSION:
            return (
                f"We could not find an {issuer} session on {about}. Please check the date and the "
                "facilitator's name and write again."
            )
        case Reason.HUB_SESSION:
            return (
                f"{about[0].upper()}{about[1:]} was run by a local hub, and hub sessions are not "
                f"issued {issuer} certificates. Please ask the hub that ran it about a certificate."
            )
        case Reason.LIST_NOT_SUBMITTED:
            return (
                f"The attendee list for {about} has not been submitted yet. You will receive your "
                "certificate automatically once it arrives, if you took part in full."
            )
        case Reason.NOT_ON_LIST:
            return (
                f"This email address is not on the attendee list for {about}. Please write from the "
                "address you registered with, or ask your facilitator to check the list."
            )
        case Reason.NOT_CORE_TRAINED:
            return (
                f"The attendee list for {about} does not show you as having completed IPS core "
                "training, which a certificate for co-reflection requires. If this is a mistake, "
                "please ask your facilitator to correct the list."
            )
        case Reason.INCOMPLETE_PARTICIPATION:
            return (
                f"The attendee list for {about} does not record full participation (from the "
                "opening check-in to the closing round), which a certificate requires. If this is "
                "a mistake, please ask your facilitator to correct the list."
            )
        case Reason.REVOKED:
            return (
                f"Your certificate for {about} was revoked, so it cannot be issued again. Please "
                f"contact {issuer} if you believe this is a mistake."
            )
        case Reason.AMBIGUOUS:
            options = "; ".join(describe_session(s) for s in decision.candidates)
            return (
                "You attended more than one session that matches your request: "
                f"{options}. Please tell us which one (its start time or facilitator)."
            )
    raise AssertionError(f"unhandled reason {decision.reason!r}")
