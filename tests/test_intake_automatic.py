"""Mail that a machine sent gets no answer (RFC 3834 and the signs the big mail handlers use)."""

import datetime as dt

import pytest

from service.intake.automatic import automatic_reason
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
        ("", None, "Automatic reply: Certificate"),
        ("", None, "Abwesenheitsnotiz: Zertifikat"),
        ("", None, "Réponse automatique : certificat"),
        ("", None, "Undeliverable: Certificate"),
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
