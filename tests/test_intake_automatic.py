"""Mail that a machine sent gets no answer (RFC 3834 and the signs the big mail handlers use)."""

import datetime as dt

import pytest

from service.intake.automatic import automatic_reason, looks_automatic
from service.intake.message import read_message

OWN = frozenset({"info@ipscentral.test"})


def message(headers: str = "", sender: str = "Aroha <aroha@example.nz>", subject: str = "Certificate"):
    raw = f"From: {sender}\r\nTo: info@ipscentral.test\r\nSubject: {subject}\r\n{headers}\r\nHello".encode()
    return read_message(raw, dt.datetime.now(dt.UTC))


@pytest.mark.parametrize(
    ("headers", "sender", "subject"),
    [
        ("Auto-Submitted: auto-replied\r\n", None, None),
        ("Auto-Submitted: auto-generated\r\n", None, None),
        ("X-Autoreply: yes\r\n", None, None),
        ("Precedence: bulk\r\n", None, None),
        ("Precedence: list\r\n", None, None),
        ("Precedence: junk\r\n", None, None),
        ("List-Id: <coreflection.lists.example.org>\r\n", None, None),
        ("Return-Path: <>\r\n", None, None),
        ("", "MAILER-DAEMON@mx.example.org", None),
        ("", "postmaster@example.org", None),
        ("", "IPS Central <info@ipscentral.test>", None),
        ("Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n", None, None),
    ],
)
def test_machine_mail_is_recognised(headers, sender, subject):
    kwargs = {k: v for k, v in (("sender", sender), ("subject", subject)) if v}
    assert automatic_reason(message(headers, **kwargs), OWN) is not None


@pytest.mark.parametrize(
    "headers",
    [
        "",
        "Auto-Submitted: no\r\n",
        "X-Auto-Response-Suppress: All\r\n",
        "Return-Path: <aroha@example.nz>\r\n",
    ],
)
def test_a_person_writing_is_not_mistaken_for_a_machine(headers):
    assert automatic_reason(message(headers), OWN) is None


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Certificate",
        "Abwesenheitsnotiz: Zertifikat",
        "Réponse automatique : certificat",
        "Undeliverable: Certificate",
        "I am away until 16 March",
        "Read: Your certificate",
        "Accepted: Co-reflection",
        "[Ticket #4411] Certificate",
    ],
)
def test_subjects_that_only_look_automatic_are_a_guess_not_a_verdict(subject):
    looks = message(subject=subject)
    assert automatic_reason(looks, OWN) is None
    assert looks_automatic(looks)


def test_a_person_writing_about_an_absence_is_not_a_machine():
    assert not looks_automatic(message(subject="Absence on 4 March - can I still get a certificate?"))
