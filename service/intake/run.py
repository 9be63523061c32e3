"""One pass of the intake: every new request answered once, every decided follow-up sent once.

The order of steps is what makes "once" hold. A message is remembered, then marked handled in the
mailbox, only after its reply went out; a message the API or the mail server could not take now is left
exactly as it was for the next run. If the intake dies between sending a reply and remembering it, the
next run asks the API again with the same message_id (the same request, the same certificate) and
sends the reply again with the same Message-ID: at worst one recognisable duplicate.

One bad message never stops the others: whatever it raises, it is left unread for staff and logged.
"""

import datetime as dt
import logging
from collections.abc import Callable

import msgspec

from service.intake.automatic import automatic_reason, looks_automatic
from service.intake.client import Api, ApiMisconfigured, ApiRefused, ApiUnavailable
from service.intake.mailboxes import Mailbox, MailItem
from service.intake.message import IncomingMessage, header_message_id, message_id_of, read_message
from service.intake.replies import Replies, Reply, answered
from service.intake.state import IntakeState, Thread
from service.intake.transport import Transport, TransportError
from service.intake.understanding import resolve, understand
from service.rules.names import fold

log = logging.getLogger("certledger.intake")

ANSWERED, AUTOMATIC, QUIET, LEFT = "answered", "automatic", "quiet", "left"


class PassReport(msgspec.Struct, kw_only=True):
    answered: int = 0
    left: int = 0
    automatic: int = 0
    quiet: int = 0
    follow_ups: int = 0
    retry: int = 0  # messages or follow-ups left for the next run (API or mail server unavailable)

    def count(self, outcome: str) -> None:
        if outcome == ANSWERED:
            self.answered += 1
        elif outcome == AUTOMATIC:
            self.automatic += 1
        elif outcome == QUIET:
            self.quiet += 1
        else:
            self.left += 1


class _Unavailable(Exception):
    """The API or the mail server cannot take anything now: end the pass, try again next run."""


class Intake:
    def __init__(
        self,
        *,
        api: Api,
        mailbox: Mailbox,
        transport: Transport,
        state: IntakeState,
        replies: Replies,
        own_addresses: frozenset[str],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._api = api
        self._mailbox = mailbox
        self._transport = transport
        self._state = state
        self._replies = replies
        self._own = own_addresses
        self._own_domains = frozenset(a.rpartition("@")[2] for a in own_addresses)
        self._clock = clock

    def run_once(self) -> PassReport:
        """Raises ApiMisconfigured (a wrong token or --api): nothing is remembered as handled then."""
        report = PassReport()
        try:
            for item in self._mailbox.messages(skip=self._done_with):
                self._handle(item, report)
            self._follow_up(report)
        except _Unavailable as exc:
            report.retry += 1
            log.warning("pass ended early, the rest waits for the next run: %s", exc)
        return report

    def _handle(self, item: MailItem, report: PassReport) -> None:
        message_id = message_id_of(item.raw)
        known = self._state.handled(message_id)
        if known is not None:
            if known.outcome not in (LEFT, QUIET) and not known.marked:
                self._mark(item.key, message_id)  # remembered, then the intake stopped: finish the job
            return
        message: IncomingMessage | None = None
        try:
            message = read_message(item.raw, self._clock())
            outcome, reason = self._answer(message)
        except (ApiUnavailable, OSError) as exc:
            raise _Unavailable(f"{message_id}: {exc}") from None
        except TransportError as exc:
            if not exc.permanent:
                raise _Unavailable(f"{message_id}: {exc}") from None
            outcome, reason = LEFT, f"the reply could not be delivered: {exc}"
        except ApiMisconfigured:
            raise
        except ApiRefused as exc:
            outcome, reason = LEFT, f"the API refused it: {exc}"
        except Exception as exc:  # one unreadable message must not stop the others
            outcome, reason = LEFT, f"could not be handled ({type(exc).__name__}: {exc})"
            log.exception("%r: unexpected error, left unread for staff", message_id)
        self._state.remember(message_id, outcome)
        if outcome not in (LEFT, QUIET):
            self._mark(item.key, message_id)
        report.count(outcome)
        sender = message.sender if message is not None and message.sender else "(no sender)"
        log.info("%s from %s: %s (%s)", message_id, sender, outcome, reason)

    def _done_with(self, header: bytes) -> bool:
        """Nothing left to do for this message: left for staff, or answered and marked."""
        message_id = header_message_id(header)
        known = self._state.handled(message_id) if message_id else None
        return known is not None and (known.outcome in (LEFT, QUIET) or known.marked)

    def _mark(self, key: str, message_id: str) -> None:
        self._mailbox.mark_handled(key)
        self._state.note_marked(message_id)

    def _answer(self, message: IncomingMessage) -> tuple[str, str]:
        """What was done with a message, and why, in words for the log."""
        if why := automatic_reason(message, self._own):
            return AUTOMATIC, why
        if not message.sender:
            return LEFT, "no sender address to answer"
        if looks_automatic(message):
            return LEFT, f"the subject reads like a machine's: {message.subject!r}"
        if message.sender.rpartition("@")[2] in self._own_domains:
            return LEFT, "written from our own domain"
        understanding = understand(message, answered(message.references))
        if not understanding.is_request:
            return LEFT, understanding.left_because or "not a certificate request"
        resolved = resolve(understanding, message.text, self._api.sessions_on, message.sender_name)
        if resolved.left_because:
            return LEFT, resolved.left_because
        thread = Thread(
            message_id=message.message_id,
            sender=message.sender,
            reply_to=message.reply_to or message.sender,
            subject=message.subject,
            references=message.references,
        )
        if resolved.date is None:
            kind = f"question:{'+'.join(resolved.missing)}"
            if self._explained_today(message.sender, kind):
                return QUIET, f"already asked today for {kind}"
            self._send(self._replies.question(thread, message.sender_name, resolved.missing, kind))
            self._state.note_explained(message.sender, kind, self._clock().date())
            return ANSWERED, f"asked for the {' and '.join(resolved.missing)}"
        answer = self._api.request_certificate(
            email=message.sender,
            date=resolved.date,
            facilitator=resolved.facilitator,
            start_time=resolved.start_time,
            message_id=message.message_id,
        )
        self._state.keep_thread(answer["request_id"], thread)
        if answer["outcome"] == "issued":
            pdf = self._api.pdf(answer["certificate"]["pdf_url"])
            self._send(self._replies.certificate(thread, message.sender_name, answer, pdf, "issued"))
            return ANSWERED, f"issued {answer['certificate']['serial']}"
        kind = f"{answer['outcome']}:{answer['reason']}"
        # The same unanswerable request: the same answer about the same date and facilitator.
        repeat = f"{kind}|{resolved.date}|{fold(resolved.facilitator or '')}"
        if self._explained_today(message.sender, repeat):
            return QUIET, f"already explained today: {kind}"
        self._send(self._replies.explanation(thread, message.sender_name, answer, kind))
        self._state.note_explained(message.sender, repeat, self._clock().date())
        return ANSWERED, kind

    def _follow_up(self, report: PassReport) -> None:
        """Requests decided after their first answer (a pending one got its list): tell them once."""
        try:
            decided = self._api.decided_untold()
        except (ApiUnavailable, ApiRefused) as exc:
            raise _Unavailable(f"follow-ups: {exc}") from None
        for request in decided:
            thread = self._state.thread_of(request["request_id"]) or Thread(
                message_id=request["message_id"] or f"<{request['request_id']}@certledger.invalid>",
                sender=request["email"],
                reply_to=request["email"],
                subject="Your certificate request",
                references=(),
            )
            kind = f"follow-up:{request['request_id']}:{request['outcome']}"
            try:
                if request["outcome"] == "issued":
                    pdf = self._api.pdf(request["certificate"]["pdf_url"])
                    reply = self._replies.certificate(thread, "", request, pdf, kind)
                else:
                    reply = self._replies.explanation(thread, "", request, kind)
                self._send(reply)
                # Told this outcome; if it changed again meanwhile, the request stays listed.
                self._api.mark_notified(request["request_id"], request["outcome"])
            except (ApiUnavailable, OSError) as exc:
                raise _Unavailable(f"follow-up for {request['request_id']}: {exc}") from None
            except TransportError as exc:
                if not exc.permanent:
                    raise _Unavailable(f"follow-up for {request['request_id']}: {exc}") from None
                log.warning("follow-up for %s could not be delivered: %s", request["request_id"], exc)
                continue
            report.follow_ups += 1
            log.info(
                "%s follow-up to %s: %s (%s)",
                request["message_id"] or request["request_id"],
                request["email"],
                request["outcome"],
                request["reason"] or request["certificate"]["serial"],
            )

    def _send(self, reply: Reply) -> None:
        self._transport.send(reply.message, reply.recipients)

    def _explained_today(self, sender: str, kind: str) -> bool:
        return self._state.explained_today(sender, kind, self._clock().date())
