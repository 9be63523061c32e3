"""Whether an email asks for a certificate, and which date, facilitator and time it names."""

import datetime as dt

import pytest

from service.intake.message import read_message
from service.intake.understanding import resolve, understand

SENT = "Fri, 06 Mar 2026 16:40:02 -0500"
SESSIONS = {
    dt.date(2026, 3, 4): [
        {"date": "2026-03-04", "start_time": "18:00", "facilitators": ["Jane Doe"], "delivery": "online"},
        {
            "date": "2026-03-04",
            "start_time": "10:00",
            "facilitators": ["Sam Lee", "Jane Smith"],
            "delivery": "online",
        },
    ]
}


def sessions_on(date: dt.date) -> list[dict]:
    return SESSIONS.get(date, [])


def email(body: str, subject: str = "Hello", headers: str = ""):
    raw = f"From: Ana <ana@example.br>\r\nSubject: {subject}\r\nDate: {SENT}\r\n{headers}\r\n{body}".encode()
    return read_message(raw, dt.datetime.now(dt.UTC))


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Certificate", "Could I please have my certificate for 4 March with Jane Doe?"),
        ("Hello", "Please send me the certificate of attendance for Wednesday's co-reflection."),
        ("Certificate for co-reflection", "I attended the session on 4 March with Jane."),
        ("Certificado", "Hola, ¿me podrían enviar el certificado del 4 de marzo con Jane?"),
        ("cert", "cert pls 4/3 jane"),
    ],
)
def test_requests(subject, body):
    assert understand(email(body, subject)).is_request


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Next session?", "When is the next co-reflection with Jane Doe? The one on 4 March was lovely."),
        ("Re: Your certificate", "Thank you so much for the certificate from 4 March!"),
        ("Certificate", "My name is misspelled on the certificate you sent for 4 March."),
        ("Complaint", "I am disappointed that my certificate for 4 March was refused."),
        ("Invoice", "Could you send the invoice for the certificates of 4 March?"),
        ("List", "I'll upload the attendee list for 4 March tomorrow; people asked about certificates."),
        ("Unsubscribe", "Please unsubscribe me."),
    ],
)
def test_not_requests_are_left_for_staff(subject, body):
    assert not understand(email(body, subject)).is_request


def test_a_reply_to_our_question_with_only_a_date_is_a_request():
    message = email("It was the 04.03.2026 evening session.", subject="Re: your email")
    assert understand(message, "question").is_request
    assert not understand(message).is_request


@pytest.mark.parametrize(
    ("body", "facilitator", "start_time"),
    [
        ("Certificate please: 4 March with Jane Doe", "Jane Doe", None),
        ("Certificate please: 4 March with Jayne", "Jayne", None),
        ("Certificate please: Sam's session on 4 March", "Sam", None),
        ("Certificate please: the 6pm one on 4 March", None, "18:00"),
        ("Certificate please: the morning session on 4 March", None, "10:00"),
        ("Certificate please for 4 March, I hope it is not too late", None, None),
    ],
)
def test_resolving_against_the_sessions_of_the_date(body, facilitator, start_time):
    understood = understand(email(body))
    resolved = resolve(understood, body, sessions_on)
    assert resolved.date == dt.date(2026, 3, 4)
    assert (resolved.facilitator, resolved.start_time) == (facilitator, start_time)


def test_day_and_month_are_decided_by_the_sessions():
    understood = understand(email("Certificate please for 4/3 with Jane"))
    assert resolve(understood, "Certificate please for 4/3 with Jane", sessions_on).date == dt.date(
        2026, 3, 4
    )


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ("Please send my certificate for the session with Jane Doe.", ("date",)),
        ("Please send my certificate, thanks!", ("date", "facilitator")),
    ],
)
def test_what_is_missing_is_asked_for(body, missing):
    understood = understand(email(body, "Certificate"))
    assert resolve(understood, body, sessions_on).missing == missing
