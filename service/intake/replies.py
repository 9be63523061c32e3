"""The replies the intake sends: a certificate, a kind explanation, or a question for what is missing.

Each is plain text with an HTML alternative, rendered from templates/email/. Every reply carries the
headers that keep mail loops and auto-responders away (RFC 3834: Auto-Submitted: auto-replied;
Exchange: X-Auto-Response-Suppress), threads under the request (In-Reply-To, References), and a
Message-ID derived from the request's: if a crash between sending and recording makes the intake send
a reply twice, the copies share one Message-ID and mail clients show one.
"""

import datetime as dt
import email.utils
import hashlib
import re
from email.message import EmailMessage

import jinja2
import msgspec

from service.intake.message import POLICY
from service.intake.state import Thread
from service.resources import templates_dir

_ADVICE = {
    "not_on_list": "Certificates are sent only to the address on the attendee list. If you registered "
    "with another address, please write from that one.",
    "incomplete_participation": "A certificate of attendance needs full participation, from the opening "
    "check-in round to the closing round; observing part of a session is not enough.",
    "hub_session": "Sessions run by a local hub are documented by that hub; it can tell you what "
    "record of attendance it offers.",
}
_WANTED = {
    ("date",): ("the date of the session", "the co-reflection on 14 February 2026"),
    ("facilitator",): ("the name of the facilitator", "the session with Alex Example"),
    ("date", "facilitator"): (
        "the date of the session and the name of its facilitator",
        "the co-reflection on 14 February 2026 with Alex Example",
    ),
}


# Message-IDs are single tokens: folded at 78 characters they break (or get RFC 2047-encoded), and
# replies stop threading. Lines may be as long as RFC 5322 allows.
_POLICY = POLICY.clone(max_line_length=998)


class Sender(msgspec.Struct, frozen=True):
    address: str  # the From of replies
    issuer: str


class Reply(msgspec.Struct, frozen=True):
    message: EmailMessage
    recipients: list[str]


class Replies:
    def __init__(self, sender: Sender) -> None:
        self._sender = sender
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir() / "email"),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
            keep_trailing_newline=True,
            # A pass makes its own Replies, and templates do not change within one: no stat() per reply.
            auto_reload=False,
        )

    def certificate(self, thread: Thread, greeting_name: str, answer: dict, pdf: bytes, kind: str) -> Reply:
        """The certificate goes to the address the list has (the request's From), never a Reply-To."""
        certificate = answer["certificate"]
        filename = f"certificate-{certificate['serial']}.pdf"
        context = {
            "message": answer["message"],
            "filename": filename,
            "holder_name": certificate["holder_name"],
            "verify_url": certificate["verify_url"],
        }
        to = thread.sender
        message = self._compose(thread, to, greeting_name, "certificate", context, kind)
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
        return Reply(message=message, recipients=[to])

    def explanation(self, thread: Thread, greeting_name: str, answer: dict, kind: str) -> Reply:
        context = {"message": answer["message"], "advice": _ADVICE.get(answer["reason"] or "")}
        to = thread.reply_to
        return Reply(
            message=self._compose(thread, to, greeting_name, "explanation", context, kind), recipients=[to]
        )

    def question(self, thread: Thread, greeting_name: str, missing: tuple[str, ...], kind: str) -> Reply:
        wanted, example = _WANTED[missing]
        missing_sentence = {
            ("date",): "We could not find the date of your session in your message.",
            ("facilitator",): "We could not tell from your message who facilitated your session.",
            (
                "date",
                "facilitator",
            ): "We could not find the date of your session or its facilitator in your message.",
        }[missing]
        context = {"wanted": wanted, "example": example, "missing_sentence": missing_sentence}
        to = thread.reply_to
        return Reply(
            message=self._compose(thread, to, greeting_name, "question", context, kind), recipients=[to]
        )

    def _compose(
        self, thread: Thread, to: str, greeting_name: str, template: str, context: dict, kind: str
    ) -> EmailMessage:
        name = _display_name(greeting_name)
        context = {
            **context,
            "greeting": f"Hello {name}," if name else "Hello,",
            "issuer": self._sender.issuer,
        }
        message = EmailMessage(policy=_POLICY)
        message["From"] = email.utils.formataddr((self._sender.issuer, self._sender.address))
        message["To"] = to
        message["Subject"] = _reply_subject(thread.subject)
        message["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
        message["Message-ID"] = reply_message_id(thread.message_id, template, kind, self._sender.address)
        message["In-Reply-To"] = thread.message_id
        message["References"] = " ".join(dict.fromkeys([*thread.references, thread.message_id]))
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
        # What the reply says, for staff's mail filters and for tests: "issued", "rejected:not_on_list"…
        message["X-Certledger-Reply"] = kind
        message.set_content(self._env.get_template(f"{template}.txt").render(context))
        message.add_alternative(self._env.get_template(f"{template}.html").render(context), subtype="html")
        return message


def reply_message_id(original: str, template: str, kind: str, from_address: str) -> str:
    """The same request and kind of reply always get the same Message-ID; its first letter says what
    the reply was, so that an answer to it is read in that light (see answered)."""
    digest = hashlib.sha256(f"{original}|{kind}".encode()).hexdigest()[:32]
    domain = from_address.rpartition("@")[2] or "certledger.invalid"
    return f"<certledger.{template[0]}.{digest}@{domain}>"


_OURS = re.compile(r"<certledger\.([cqe])\.[0-9a-f]{32}@")
_TEMPLATES = {"c": "certificate", "q": "question", "e": "explanation"}


def answered(references: tuple[str, ...]) -> str | None:
    """What the intake's email this message replies to was ("question", "certificate", "explanation")."""
    for reference in reversed(references):
        if found := _OURS.match(reference):
            return _TEMPLATES[found.group(1)]
    return None


_PREFIXES = re.compile(r"^\s*((re|aw|sv|vs|antw|rif|res|r|odp|vá|ynt)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def _reply_subject(subject: str) -> str:
    """ "Re: " once, whatever the sender's client put there ("AW:", "SV:", "RES:"…)."""
    bare = _PREFIXES.sub("", subject).strip()
    return f"Re: {bare}" if bare else "Your certificate of attendance"


def _display_name(display_name: str) -> str:
    """The name as the person writes it ("Torres, Miguel" reads Miguel Torres); not a first name alone,
    which is the family name in many cultures (Nguyễn Thị Minh). An address or nothing greets nobody."""
    name = " ".join(display_name.strip().strip('"').split())
    if "@" in name or not name or not name[0].isalpha():
        return ""
    if name.count(",") == 1:
        family, given = (part.strip() for part in name.split(","))
        name = f"{given} {family}".strip()
    return name
