"""Mail that a machine sent: never answered (RFC 3834), or two auto-responders talk forever.

The signs are the ones the best mail-handling systems settled on (NOTES.md: Discourse, GitLab, RT).
X-Auto-Response-Suppress is deliberately not one of them: Exchange puts it on ordinary mail too.
"""

import re

from service.intake.message import IncomingMessage

_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?reply|autoreply|out of (the )?office|abwesenheitsnotiz|"
    r"automatische antwort|réponse automatique|respuesta automática|resposta automática|"
    r"risposta automatica|afwezig|fuera de la oficina|absence|undeliverable|delivery status notification|"
    r"mail delivery failed|returned mail|delivery failure|non remis|unzustellbar)\b",
    re.IGNORECASE,
)
_MACHINE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)([+@]|$)")


def automatic_reason(message: IncomingMessage, own_addresses: frozenset[str]) -> str | None:
    """Why this message must get no answer, or None when a person wrote it."""
    headers = message.headers
    if message.sender in own_addresses:
        return "our own address"
    if not message.sender:
        return "no sender address"
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
    if _AUTO_SUBJECT.match(message.subject):
        return f"automatic subject {message.subject!r}"
    return None
