"""An incoming email as the intake needs it: who sent it, when, and what they newly wrote.

Real mail is messy: HTML-only bodies, wrong or unknown charsets, forwarded messages as attachments,
quoted replies whose attribution line carries a date ("On Tue, Mar 3, 2026 … wrote:") that would beat
the one the person meant. Everything here is the standard library's email package with the fallbacks
its known traps need (NOTES.md): policy.default, ('plain', 'html') preference, a charset fallback chain,
and header access that survives malformed Microsoft Message-IDs (cpython #105802).
"""

import datetime as dt
import email
import email.headerregistry
import email.parser
import email.policy
import email.utils
import hashlib
import html.parser
import re
from email.message import EmailMessage, Message

import msgspec

from service.intake.quotes import split_body

_FALLBACK_CHARSETS = ("utf-8", "cp1252", "latin-1")


class _HeaderClasses(email.headerregistry.HeaderRegistry):
    """The standard registry, making each header's class once per name: the standard one builds a new
    class for every header it reads or writes, a good part of the time the intake spends on mail."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(key)
        return made


# policy.default, reading and writing the very same headers, faster.
POLICY = email.policy.default.clone(header_factory=_HeaderClasses())


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
    "x-ms-exchange-generated-message-source",
    "x-failed-recipients",
)


def read_message(raw: bytes, received: dt.datetime) -> IncomingMessage:
    message = email.message_from_bytes(raw, policy=POLICY)
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


def header_message_id(header: bytes) -> str | None:
    """The Message-ID from a header block alone, when it has a usable one."""
    headers = email.parser.BytesHeaderParser(policy=POLICY).parsebytes(header)
    value = _header(headers, "message-id").strip()
    return value if _MSG_ID.fullmatch(value) else None


def message_id_of(raw: bytes) -> str:
    """The Message-ID without parsing the body: enough to know whether a message was handled."""
    headers = email.parser.BytesHeaderParser(policy=POLICY).parsebytes(raw)
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
    """(display name, address); an address that could smuggle a header line (CR, LF, an encoded word)
    or is not one at all counts as none."""
    name, address = email.utils.parseaddr(value)
    address = address.strip().lower()
    if "@" not in address or any(c in address for c in "\r\n\x00 ") or "=?" in address:
        address = ""
    return " ".join(name.split()), address


_MSG_ID = re.compile(r"<[^<>\s\x00-\x1f\x7f]{1,250}>")


def _message_id(message: Message, raw: bytes) -> str:
    """The Message-ID when it is one (it is copied into replies' headers and the log); otherwise one
    derived from the bytes: the same message is the same message (NOTES.md, dedup)."""
    value = _header(message, "message-id").strip()
    if _MSG_ID.fullmatch(value):
        return value
    return f"<sha256-{hashlib.sha256(raw).hexdigest()[:40]}@certledger.invalid>"


def _sent(message: Message, received: dt.datetime) -> dt.datetime:
    """The Date header; the time of reading when it is missing, broken, or later than that (a clock
    set wrong must not move "March 4" into a future year)."""
    try:
        sent = email.utils.parsedate_to_datetime(_header(message, "date"))
    except (TypeError, ValueError, IndexError, OverflowError):
        return received
    if sent is None:
        return received
    sent = sent if sent.tzinfo is not None else sent.replace(tzinfo=dt.UTC)
    return sent if sent <= received else received


def _references(message: Message) -> tuple[str, ...]:
    """The thread, oldest first: References, then In-Reply-To when References lacks it."""
    ids = f"{_header(message, 'references')} {_header(message, 'in-reply-to')}"
    return tuple(dict.fromkeys(_MSG_ID.findall(ids)))


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
    if body is None and not message.is_multipart() and message.get_content_maintype() != "message":
        # Broken MIME (a multipart type without its boundary): the bytes are still what was written.
        body = message
    return (_part_text(body) if body is not None else ""), [a for a in attached if a.strip()]


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    text = _decode(payload, part.get_content_charset())
    text = html_to_text(text) if part.get_content_subtype() == "html" else text
    # A request is a few lines; a body of megabytes must not make every regex below slow.
    return text[:MAX_TEXT]


def _decode(payload: bytes, charset: str | None) -> str:
    """The declared charset when it works, then UTF-8, cp1252, latin-1 (which always does)."""
    for candidate in (charset, *_FALLBACK_CHARSETS):
        if not candidate:
            continue
        try:
            return payload.decode(candidate)
        except (LookupError, ValueError):  # ValueError: a charset name with a NUL in it, for one
            continue
    return payload.decode("latin-1")


_BLOCKS = frozenset(
    {
        "br",
        "p",
        "div",
        "li",
        "tr",
        "table",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "ul",
        "ol",
        "hr",
    }
)
_HIDDEN = frozenset({"script", "style", "head", "title"})
MAX_TEXT = 100_000


class _TextOf(html.parser.HTMLParser):
    """HTML as the lines a reader sees, in one linear pass; text inside <blockquote> becomes "> "
    lines so quote trimming finds it, however deeply quotes nest and whether or not tags close."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[list[str]] = [[]]
        self.quoted: list[bool] = [False]
        self.depth = 0
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self._break()
            if tag == "blockquote":
                self.depth += 1
                self.quoted[-1] = True

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            if tag == "blockquote":
                self.depth = max(0, self.depth - 1)
            self._break()

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.lines[-1].append(data)

    def _break(self) -> None:
        self.lines.append([])
        self.quoted.append(self.depth > 0)

    def text(self) -> str:
        rendered = []
        for parts, quoted in zip(self.lines, self.quoted, strict=True):
            line = " ".join("".join(parts).replace("\xa0", " ").split())
            rendered.append(f"> {line}" if quoted and line else line)
        return re.sub(r"\n{3,}", "\n\n", "\n".join(rendered)).strip()


def html_to_text(markup: str) -> str:
    parser = _TextOf()
    parser.feed(markup[: MAX_TEXT * 5])
    parser.close()
    return parser.text()
