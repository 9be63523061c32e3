"""One pass of the intake: every new request answered once, every decided follow-up sent once.

The order of steps is what makes "once" hold. A message is marked handled (and remembered) only after
its reply went out; a message the API could not answer is left exactly as it was for the next run.
If the intake dies between sending a reply and remembering it, the next run asks the API again with
the same message_id (the same request, the same certificate) and sends the reply again with the same
Message-ID: at worst one recognisable duplicate.
"""

import datetime as dt
import logging
from collections.abc import Callable

import msgspec

from service.intake.automatic import automatic_reason
from service.intake.client import Api, ApiRefused, ApiUnavailable
from service.intake.mailboxes import Mailbox, MailItem
from service.intake.message import IncomingMessage, message_id_of, read_message
from service.intake.replies import Replies, Reply
from service.intake.state import IntakeState, Thread
from service.intake.transport import Transport, TransportError
from service.intake.understanding import resolve, understand

log = logging.getLogger("certledger.intake")

# What the state remembers a message for; only "left" leaves the message untouched in the mailbox.
ANSWERED, AUTOMATIC, QUIET, LEFT = "answered", "automatic", "quiet", "left"


class PassReport(msgspec.Struct, kw_only=True):
    answered: int = 0
    left: int = 0
    automatic: int = 0
    quiet: int = 0
    follow_ups: int = 0
    retry: int = 0  # messages or follow-ups left for the next run (API or mail server unavailable)


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
        report = PassReport()
        for item in self._mailbox.messages():
            self._handle(item, report)
        self._follow_up(report)
        return report

    def _handle(self, item: MailItem, report: PassReport) -> None:
        known = self._state.outcome_of(message_id_of(item.raw))
        if known == LEFT:
            return
        if known is not None:
            # Remembered but perhaps not yet marked (a crash in between): finish the job.
            self._mailbox.mark_handled(item.key)
            return
        message = read_message(item.raw, self._clock())
        try:
            outcome, reason = self._answer(message)
        except (ApiUnavailable, TransportError) as exc:
            report.retry += 1
            log.warning("%s from %s: left for the next run (%s)", message.message_id, message.sender, exc)
            return
        except ApiRefused as exc:
            outcome, reason = LEFT, f"the API refused it: {exc}"
        self._state.remember(message.message_id, outcome)
        if outcome != LEFT:
            self._mailbox.mark_handled(item.key)
        setattr(report, outcome, getattr(report, outcome) + 1)
        log.info("%s from %s: %s (%s)", message.message_id, message.sender, outcome, reason)

    def _answer(self, message: IncomingMessage) -> tuple[str, str]:
        """What was done with a message, and why, in words for the log."""
        if why := automatic_reason(message, self._own):
            return AUTOMATIC, why
        understanding = understand(message, replying_to_us=self._replies_to_us(message))
        if not understanding.is_request:
            return LEFT, understanding.left_because or "not a certificate request"
        resolved = resolve(understanding, message.text, self._api.sessions_on)
        thread = Thread(
            message_id=message.message_id,
            sender=message.sender,
            subject=message.subject,
            references=message.references,
        )
        explain_to = message.reply_to or message.sender
        if resolved.date is None:
            kind = f"question:{'+'.join(resolved.missing)}"
            if self._explained_today(message.sender, kind):
                return QUIET, f"already asked today for {kind}"
            self._send(
                self._replies.question(thread, explain_to, message.sender_name, resolved.missing, kind)
            )
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
            certificate = answer["certificate"]
            pdf = self._api.pdf(certificate["pdf_url"])
            # The certificate goes to the address on the list (the one the API matched), never a Reply-To.
            self._send(
                self._replies.certificate(
                    thread, message.sender, message.sender_name, certificate, pdf, "issued"
                )
            )
            return ANSWERED, f"issued {certificate['serial']}"
        kind = f"{answer['outcome']}:{answer['reason']}"
        if self._explained_today(message.sender, kind):
            return QUIET, f"already explained today: {kind}"
        reply = self._replies.explanation(
            thread, explain_to, message.sender_name, answer["message"], answer["reason"], kind
        )
        self._send(reply)
        self._state.note_explained(message.sender, kind, self._clock().date())
        return ANSWERED, kind

    def _follow_up(self, report: PassReport) -> None:
        """Requests decided after their first answer (a pending one got its list): tell them once."""
        try:
            decided = self._api.decided_untold()
        except (ApiUnavailable, ApiRefused) as exc:
            report.retry += 1
            log.warning("follow-ups left for the next run (%s)", exc)
            return
        for request in decided:
            thread = self._state.thread_of(request["request_id"]) or Thread(
                message_id=request["message_id"] or f"<{request['request_id']}@certledger.invalid>",
                sender=request["email"],
                subject="Your certificate request",
                references=(),
            )
            kind = f"follow-up:{request['request_id']}:{request['outcome']}"
            try:
                if request["outcome"] == "issued":
                    pdf = self._api.pdf(request["certificate"]["pdf_url"])
                    reply = self._replies.certificate(
                        thread, request["email"], "", request["certificate"], pdf, kind
                    )
                else:
                    reply = self._replies.explanation(
                        thread, thread.sender, "", request["message"], request["reason"], kind
                    )
                self._send(reply)
                self._api.mark_notified(request["request_id"], request["outcome"])
            except (ApiUnavailable, ApiRefused, TransportError) as exc:
                report.retry += 1
                log.warning("follow-up for %s left for the next run (%s)", request["request_id"], exc)
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

    def _replies_to_us(self, message: IncomingMessage) -> bool:
        return any(ref.rstrip(">").rpartition("@")[2] in self._own_domains for ref in message.references)
