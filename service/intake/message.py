"""An incoming email as the intake needs it: who sent it, when, and what they newly wrote.

Real mail is messy: HTML-only bodies, wrong or unknown charsets, forwarded messages as attachments,
quoted replies whose attribution line carries a date ("On Tue, Mar 3, 2026 … wrote:") that would beat
the one the person meant. Everything here is the standard library's email package with the fallbacks
its known traps need (NOTES.md): policy.default, ('plain', 'html') preference, a charset fallback chain,
and header access that survives malformed Microsoft Message-IDs (cpython #105802).
"""

import datetime as dt
import email
import email.parser
import email.policy
import email.utils
import hashlib
import html
import re
from email.message import EmailMessage, Message

import msgspec

from service.intake.quotes import split_body

_FALLBACK_CHARSETS = ("utf-8", "cp1252", "latin-1")


class IncomingMessage(msgspec.Struct, frozen=True, kw_only=True):
    message_id: str
    sender: str  # the From address, lower-cased
    sender_name: str
    reply_to: str | None
    subject: str
    sent: dt.datetime  # the Date header (aware); the time of reading when it is missing or broken
    text: str  # the new text: subject excluded, quoted replies and signatures trimmed
    forwarded: str  # the text of messages forwarded with it (inline or attached)
    references: tuple[str, ...]  # Message-IDs this one replies to (In-Reply-To, References)
    headers: dict[str, str]  # lower-cased names, the headers that say whether mail is automatic
    content_type: str
    report_type: str | None


_AUTOMATION_HEADERS = (
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "precedence",
    "return-path",
    "list-id",
    "list-unsubscribe",
    "x-auto-response-suppress",
    "x-ms-exchange-generated-message-source",
    "x-failed-recipients",
)


def read_message(raw: bytes, received: dt.datetime) -> IncomingMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    sender_name, sender = _address(_header(message, "from"))
    _, reply_to = _address(_header(message, "reply-to"))
    body, attached = _readable_body(message)
    parts = split_body(body)
    return IncomingMessage(
        message_id=_message_id(message, raw),
        sender=sender,
        sender_name=sender_name,
        reply_to=reply_to or None,
        subject=" ".join(_header(message, "subject").split()),
        sent=_sent(message, received),
        text=parts.new,
        forwarded="\n\n".join(p for p in (parts.forwarded, *attached) if p),
        references=_references(message),
        headers={
            name: _header(message, name) for name in _AUTOMATION_HEADERS if message.get(name) is not None
        },
        content_type=message.get_content_type(),
        report_type=message.get_param("report-type", header="content-type") or None,
    )


def message_id_of(raw: bytes) -> str:
    """The Message-ID without parsing the body: enough to know whether a message was handled."""
    headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
    return _message_id(headers, raw)


def _header(message: Message, name: str) -> str:
    """A header as text, or "" when it is missing or so malformed that parsing it raises."""
    try:
        value = message.get(name)
    except (IndexError, ValueError, TypeError, AttributeError):
        value = None
        for key, raw_value in message.raw_items():
            if key.lower() == name:
                value = raw_value
                break
    return "" if value is None else str(value)


def _address(value: str) -> tuple[str, str]:
    name, address = email.utils.parseaddr(value)
    return name.strip(), address.strip().lower()


def _message_id(message: Message, raw: bytes) -> str:
    value = _header(message, "message-id").strip()
    if value:
        return value
    # No Message-ID: the same bytes are the same message (NOTES.md, dedup).
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}@certledger.invalid>"


def _sent(message: Message, received: dt.datetime) -> dt.datetime:
    try:
        sent = email.utils.parsedate_to_datetime(_header(message, "date"))
    except (TypeError, ValueError, IndexError):
        return received
    if sent is None:
        return received
    return sent if sent.tzinfo is not None else sent.replace(tzinfo=dt.UTC)


def _references(message: Message) -> tuple[str, ...]:
    ids = f"{_header(message, 'in-reply-to')} {_header(message, 'references')}"
    return tuple(dict.fromkeys(re.findall(r"<[^<>\s]+>", ids)))


def _readable_body(message: EmailMessage) -> tuple[str, list[str]]:
    """The text a person wrote (the plain part when there is one, else the HTML as text), and the bodies
    of messages attached as message/rfc822, which get_body does not look into."""
    body = message.get_body(preferencelist=("plain", "html"))
    attached = []
    for part in message.walk():
        if part.get_content_type() == "message/rfc822" and isinstance(part, EmailMessage):
            for inner in part.iter_parts():
                if isinstance(inner, EmailMessage):
                    forwarded = inner.get_body(preferencelist=("plain", "html"))
                    if forwarded is not None:
                        attached.append(_part_text(forwarded))
    return (_part_text(body) if body is not None else ""), [a for a in attached if a.strip()]


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    text = _decode(payload, part.get_content_charset())
    return html_to_text(text) if part.get_content_type() == "text/html" else text


def _decode(payload: bytes, charset: str | None) -> str:
    """The declared charset when it works, then UTF-8, cp1252, latin-1 (which always does)."""
    for candidate in (charset, *_FALLBACK_CHARSETS):
        if not candidate:
            continue
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")


_BLOCK = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h[1-6]|p|div|li|tr|blockquote|/blockquote)\b[^>]*>", re.I)
_DROP = re.compile(r"<\s*(script|style|head)\b.*?<\s*/\s*\1\s*>", re.I | re.S)
_QUOTE_BLOCK = re.compile(r"<\s*blockquote\b.*?<\s*/\s*blockquote\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(markup: str) -> str:
    """HTML as the lines a reader sees; quoted blocks become "> " lines so quote trimming finds them."""

    def quoted(match: re.Match[str]) -> str:
        inner = html_to_text(match.group(0)[match.group(0).index(">") + 1 : match.group(0).rindex("<")])
        return "\n" + "\n".join(f"> {line}" for line in inner.splitlines()) + "\n"

    markup = _DROP.sub(" ", markup)
    markup = _QUOTE_BLOCK.sub(quoted, markup)
    markup = _BLOCK.sub("\n", markup)
    text = html.unescape(_TAG.sub("", markup)).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
