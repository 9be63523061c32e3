"""Mail that a machine sent: never answered (RFC 3834), or two auto-responders talk forever.

The signs are the ones the best mail-handling systems settled on (NOTES.md: Discourse, GitLab, RT).
X-Auto-Response-Suppress is deliberately not one of them: Exchange puts it on ordinary mail too.
"""

import re

from service.intake.message import IncomingMessage

# Subjects that machines write. A subject is only a guess (a person may write "Away on 4 March - can I
# still get a certificate?"), so mail recognised by its subject alone is left unread for staff.
_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?reply|autoreply|auto-response|out of (the )?office|"
    r"abwesenheitsnotiz|automatische antwort|réponse automatique|respuesta automática|"
    r"resposta automática|risposta automatica|fuori ufficio|afwezig|fuera de la oficina|"
    r"(i am |i'm )?(away|on vacation|on leave)\b.*\b(until|from|back)\b|undeliverable|"
    r"delivery status notification|mail delivery failed|returned mail|delivery failure|non remis|"
    r"unzustellbar|read:|lu ?:|gelesen:|accepted:|declined:|tentative:|\[(ticket|case|request) ?#|"
    r"(auto|away|ooo|vacation|holiday|on vacation|on leave)\s*:)",
    re.IGNORECASE,
)
# The first words of an out-of-office text sent without any of the headers above.
_AWAY_TEXT = re.compile(
    r"^\W*(hello,?\s+|hi,?\s+|dear [^,\n]+,?\s+)?(thank you for your (e-?mail|message)[.!]?\s+)?"
    r"(i am|i'm|i will be)\s+(currently\s+)?(out of (the )?office|away|on (annual |parental |sick )?leave|"
    r"on vacation|on holiday|travell?ing)\b",
    re.IGNORECASE,
)
_MACHINE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)([+@]|$)")


def automatic_reason(message: IncomingMessage, own_addresses: frozenset[str]) -> str | None:
    """Why the headers say a machine sent this message, or None. (A missing sender is no such sign:
    a person's broken message goes to staff.)"""
    headers = message.headers
    if message.sender in own_addresses:
        return "our own address"
    auto_submitted = headers.get("auto-submitted", "").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    if headers.get("x-autoreply", "").strip().lower() in ("yes", "true") or "x-autorespond" in headers:
        return "X-Autoreply"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    if "list-id" in headers or "list-unsubscribe" in headers:
        return "mailing-list mail"
    if headers.get("return-path", "x").strip() in ("<>", ""):
        return "empty Return-Path (a bounce)"
    if _MACHINE_SENDERS.match(message.sender):
        return f"machine sender {message.sender}"
    if message.content_type == "multipart/report" or message.report_type:
        return "a delivery or read report"
    if "x-failed-recipients" in headers or "x-ms-exchange-generated-message-source" in headers:
        return "an Exchange-generated message"
    return None


def looks_automatic(message: IncomingMessage) -> bool:
    """The subject or the opening reads like a machine's (out of office, bounce, receipt, ticket)."""
    return bool(_AUTO_SUBJECT.match(message.subject) or _AWAY_TEXT.match(message.text))
