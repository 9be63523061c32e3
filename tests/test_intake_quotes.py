"""What a person newly wrote: quotes, attribution lines, Outlook blocks and signatures trimmed."""

import pytest

from service.intake.quotes import split_body


@pytest.mark.parametrize(
    "attribution",
    [
        "On Tue, Mar 3, 2026 at 9:14 AM IPS Central <info@ipscentral.test> wrote:",
        "Am 07.03.2026 um 10:00 schrieb IPS Central <info@ipscentral.test>:",
        "Le lun. 9 mars 2026 à 10:00, IPS Central <info@ipscentral.test> a écrit :",
        "El lun, 9 mar 2026 a las 10:00, IPS Central (<info@ipscentral.test>) escribió:",
        "Em seg., 9 de mar. de 2026 às 10:00, IPS Central <info@ipscentral.test> escreveu:",
        "-----Original Message-----",
        "________________________________",
    ],
)
def test_everything_from_the_attribution_on_is_the_quote(attribution):
    body = f"It was the 4 March session with Jane Doe.\n\n{attribution}\n> We could not find the date (9 March).\n"
    assert split_body(body).new == "It was the 4 March session with Jane Doe."


def test_a_two_line_attribution():
    body = "Yes, 4 March.\n\nOn Tue, Mar 3, 2026 at 9:14 AM IPS Central <\ninfo@ipscentral.test> wrote:\n> 9 March?"
    assert split_body(body).new == "Yes, 4 March."


def test_an_outlook_header_block_starts_the_quote():
    body = "It was 4 March.\n\nFrom: IPS Central <info@ipscentral.test>\nSent: Monday, 9 March 2026 10:00\nTo: Kai\nSubject: x\n\n9 March"
    assert split_body(body).new == "It was 4 March."


def test_signatures_and_mobile_footers_are_trimmed_but_a_leading_thanks_is_not():
    assert split_body("Thanks! It was on 4 March with Jane.").new == "Thanks! It was on 4 March with Jane."
    signed = "Please send the 4 March certificate.\n\nBest regards,\nAroha\nPeer Specialist since 03/2019\n+64 21 555 0199"
    assert split_body(signed).new == "Please send the 4 March certificate."
    assert split_body("4 March please\n\nSent from my iPhone").new == "4 March please"
    assert split_body("4 March please\n-- \nAroha, 12/03/2026").new == "4 March please"


def test_an_inline_forward_is_kept_apart():
    parts = split_body("FYI\n\n---------- Forwarded message ---------\nFrom: x\n\nIt was 4 March with Jane.")
    assert parts.new == "FYI"
    assert "4 March" in parts.forwarded
