"""One pass of the intake: every new request answered once, every decided follow-up sent once.

The order of steps is what makes "once" hold. A message is remembered, then marked handled in the
mailbox, only after its reply went out; a message the API or the mail server could not take now is left
exactly as it was for the next run. If the intake dies between sending a reply and remembering it, the
next run asks the API again with the same message_id (the same request, the same certificate) and
sends the reply again with the same Message-ID: at worst one recognisable duplicate.

Several messages are under way at once: while the service decides one request and renders its PDF, the
next messages are read and understood and their requests are already on their way. Everything with an
effect (a reply sent, the state written, a message marked) still happens one message at a time, in
mailbox order, at that message's turn, exactly as if the messages had been taken one by one; so at most
one message is ever between its reply and its record, and what happens is the same whatever order the
service's answers come back in. When the pass ends early, messages read ahead but not yet at their turn
are left untouched: the next run asks the API again with the same message_id.

One bad message never stops the others: whatever it raises, it is left unread for staff and logged.
"""

import dataclasses
import datetime as dt
import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import msgspec

from service.intake.automatic import automatic_reason, looks_automatic
from service.intake.client import Api, ApiMisconfigured, ApiRefused, ApiUnavailable
from service.intake.mailboxes import Mailbox, MailboxError, MailItem
from service.intake.message import IncomingMessage, header_message_id, message_id_of, read_message
from service.intake.replies import Replies, Reply, answered
from service.intake.state import Handled, IntakeState, Thread
from service.intake.transport import Transport, TransportError
from service.intake.understanding import Resolved, resolve, understand
from service.rules.names import fold

log = logging.getLogger("certledger.intake")

ANSWERED, AUTOMATIC, QUIET, LEFT = "answered", "automatic", "quiet", "left"

# Requests on their way to the service at once. The service decides on its event loop and renders PDFs
# in another process, so a few in flight keep both busy while this process reads the next messages;
# more only queue up there, and each one read ahead is one more to ask again when a pass ends early.
IN_FLIGHT = 4


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


# The rest of a message's handling, done at its turn: what was done with it, and why, for the log.
Rest = Callable[[], tuple[str, str]]


@dataclasses.dataclass
class _Turn:
    """A message read ahead, waiting for its turn: what is known of it so far."""

    item: MailItem
    message_id: str
    known: Handled | None = None
    # The same Message-ID is already under way (a message delivered twice): it is looked at only once
    # the first copy is recorded, as a one-by-one pass would.
    again: bool = False
    message: IncomingMessage | None = None
    rest: Rest | None = None
    error: Exception | None = None  # raised while reading ahead: it counts at the message's turn


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
        in_flight: int = IN_FLIGHT,
    ) -> None:
        self._api = api
        self._mailbox = mailbox
        self._transport = transport
        self._state = state
        self._replies = replies
        self._own = own_addresses
        self._own_domains = frozenset(a.rpartition("@")[2] for a in own_addresses)
        self._clock = clock
        self._in_flight = max(1, in_flight)
        self._under_way: set[str] = set()
        self._pool: ThreadPoolExecutor | None = None

    def run_once(self) -> PassReport:
        """Raises ApiMisconfigured (a wrong token or --api): nothing is remembered as handled then."""
        report = PassReport()
        with ThreadPoolExecutor(self._in_flight, thread_name_prefix="intake-api") as pool:
            self._pool = pool
            try:
                self._answer_all(report)
                self._follow_up(report)
            except _Unavailable as exc:
                report.retry += 1
                log.warning("pass ended early, the rest waits for the next run: %s", exc)
            finally:
                # Requests not yet sent are dropped; the ones on their way are waited for, not used.
                pool.shutdown(cancel_futures=True)
                self._pool = None
                self._under_way.clear()
                self._state.commit()
        return report

    def _answer_all(self, report: PassReport) -> None:
        """Every new message, read up to IN_FLIGHT ahead, finished one at a time in mailbox order."""
        waiting: deque[_Turn] = deque()
        items: Iterator[MailItem] = self._mailbox.messages(skip=self._done_with)
        while True:
            try:
                item = next(items, None)
            except MailboxError:
                # The messages before this one are finished first, as they would have been one by one.
                while waiting:
                    self._finish(waiting.popleft(), report)
                raise
            if item is None:
                break
            if len(waiting) == self._in_flight:
                self._finish(waiting.popleft(), report)
            waiting.append(self._begin(item))
        while waiting:
            self._finish(waiting.popleft(), report)

    def _begin(self, item: MailItem) -> _Turn:
        """Read and understand a message and send its request on its way; nothing with an effect yet."""
        message_id = message_id_of(item.raw)
        if message_id in self._under_way:
            return _Turn(item, message_id, again=True)
        known = self._state.handled(message_id)
        turn = _Turn(item, message_id, known=known)
        if known is not None:
            return turn
        self._under_way.add(message_id)
        try:
            turn.message = read_message(item.raw, self._clock())
            turn.rest = self._answer(turn.message)
        except Exception as exc:  # whatever it is, it is dealt with at the message's turn
            turn.error = exc
        return turn

    def _finish(self, turn: _Turn, report: PassReport) -> None:
        """The message's turn: its reply goes out, then it is remembered, then marked in the mailbox."""
        if turn.again:
            turn = self._begin(turn.item)  # the first copy is recorded by now
        known = turn.known
        if known is not None:
            # Remembered, then the intake stopped before marking it: finish the job.
            if known.outcome not in (LEFT, QUIET) and not known.marked:
                self._mark(turn.item.key, turn.message_id)
            return
        message_id, message = turn.message_id, turn.message
        try:
            if turn.error is not None:
                raise turn.error
            assert turn.rest is not None
            outcome, reason = turn.rest()
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
        self._under_way.discard(message_id)
        if outcome not in (LEFT, QUIET):
            self._mark(turn.item.key, message_id)
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

    def _answer(self, message: IncomingMessage) -> Rest:
        """What to do with a message, decided as far as reading it goes; the request, when there is
        one, is sent on its way now, and the returned rest replies at the message's turn."""
        if why := automatic_reason(message, self._own):
            return _done(AUTOMATIC, why)
        if not message.sender:
            return _done(LEFT, "no sender address to answer")
        if looks_automatic(message):
            return _done(LEFT, f"the subject reads like a machine's: {message.subject!r}")
        if message.sender.rpartition("@")[2] in self._own_domains:
            return _done(LEFT, "written from our own domain")
        understanding = understand(message, answered(message.references))
        if not understanding.is_request:
            return _done(LEFT, understanding.left_because or "not a certificate request")
        resolved = resolve(understanding, message.text, self._api.sessions_on, message.sender_name)
        if resolved.left_because:
            return _done(LEFT, resolved.left_because)
        thread = Thread(
            message_id=message.message_id,
            sender=message.sender,
            reply_to=message.reply_to or message.sender,
            subject=message.subject,
            references=message.references,
        )
        if resolved.date is None:
            return lambda: self._ask(message, thread, resolved.missing)
        assert self._pool is not None
        asked = self._pool.submit(self._request, message, resolved)
        return lambda: self._reply(message, thread, resolved, asked)

    def _request(self, message: IncomingMessage, resolved: Resolved) -> tuple[dict[str, Any], bytes | None]:
        """In a worker thread: the API's answer, and the certificate's PDF when one was issued."""
        assert resolved.date is not None
        answer = self._api.request_certificate(
            email=message.sender,
            date=resolved.date,
            facilitator=resolved.facilitator,
            start_time=resolved.start_time,
            message_id=message.message_id,
        )
        pdf = self._api.pdf(answer["certificate"]["pdf_url"]) if answer["outcome"] == "issued" else None
        return answer, pdf

    def _ask(self, message: IncomingMessage, thread: Thread, missing: tuple[str, ...]) -> tuple[str, str]:
        kind = f"question:{'+'.join(missing)}"
        if self._explained_today(message.sender, kind):
            return QUIET, f"already asked today for {kind}"
        self._send(self._replies.question(thread, message.sender_name, missing, kind))
        self._state.note_explained(message.sender, kind, self._clock().date())
        return ANSWERED, f"asked for the {' and '.join(missing)}"

    def _reply(
        self,
        message: IncomingMessage,
        thread: Thread,
        resolved: Resolved,
        asked: "Future[tuple[dict[str, Any], bytes | None]]",
    ) -> tuple[str, str]:
        answer, pdf = asked.result()
        self._state.keep_thread(answer["request_id"], thread)
        if pdf is not None:
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


def _done(outcome: str, reason: str) -> Rest:
    return lambda: (outcome, reason)
