"""The certificate desk: a request's way from the ledger through the rules to a stored certificate.

It reads what the ledger knows, lets the pure rules decide, renders a PDF off the event loop when one
is due, and records the outcome in one write transaction. Inside that transaction it decides once more
on fresh data and refuses to record a decision that changed meanwhile, so twenty identical requests
arriving together still make one certificate (the unique index on certificates backs this up).
"""

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import msgspec

from service.certificates.content import CertificateContent
from service.certificates.links import LinkSigner, new_serial
from service.certificates.renderer import PdfRenderer
from service.ledger.certificates import NewCertificate, insert_certificate
from service.ledger.database import Ledger, Transaction, utc_now
from service.ledger.requests import (
    DecisionRecord,
    NewRequest,
    RequestRecord,
    find_by_message_id,
    get_request,
    insert_request,
    list_requests,
    mark_told,
    open_requests_near,
    redecide_request,
    stale_pending,
)
from service.ledger.sessions import (
    get_session,
    lists_awaiting_redecision,
    mark_list_redecided,
    session_facts_near,
)
from service.rules.attendee_lists import email_key
from service.rules.messages import message_for
from service.rules.requests import (
    PENDING_WINDOW_DAYS,
    Action,
    Decision,
    RequestFacts,
    decide_request,
)

_ATTEMPTS = 5
log = logging.getLogger("certledger")
T = TypeVar("T")


def utc_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class MessageIdConflict(Exception):
    """The message_id was already used by a request from another address."""


class _Changed(Exception):
    """The ledger changed between deciding and recording; decide again."""


class _Prepared(msgspec.Struct, frozen=True):
    decision: Decision
    certificate: NewCertificate | None


class _KeyedLocks:
    """One asyncio lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: collections.Counter[str] = collections.Counter()

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]


def _plan(decision: Decision) -> tuple[object, ...]:
    """What recording a decision would write; a fresh decision with another plan means start over."""
    session, held = decision.session, decision.session.certificate if decision.session else None
    return (
        decision.outcome,
        decision.reason,
        decision.action,
        session.id if session else None,
        session.entry.name if session and session.entry else None,
        held.serial if held else None,
        tuple(s.id for s in decision.candidates),
    )


class CertificateDesk:
    def __init__(
        self,
        ledger: Ledger,
        signer: LinkSigner,
        renderer: PdfRenderer,
        issuer: str,
        clock: Callable[[], dt.datetime] = utc_clock,
    ) -> None:
        self._ledger = ledger
        self._signer = signer
        self._renderer = renderer
        self._issuer = issuer
        self._clock = clock
        self._locks = _KeyedLocks()

    async def request(self, new: NewRequest, actor: str) -> RequestRecord:
        """Decide a new request and record it; the same message_id again is the same request."""
        async with self._locks.hold(email_key(new.email)):
            if (known := await self._known(new.message_id)) is not None:
                return await self._answer_again(known, new, actor)
            facts = RequestFacts(date=new.date, facilitator=new.facilitator, start_time=new.start_time)
            try:
                return await self._settle(
                    new.email, facts, actor, lambda tx, decided: insert_request(tx, new, decided)
                )
            except sqlite3.IntegrityError:
                # The same message_id from another address won the race to the unique index.
                if (known := await self._known(new.message_id)) is not None:
                    return await self._answer_again(known, new, actor)
                raise

    async def _known(self, message_id: str | None) -> RequestRecord | None:
        if message_id is None:
            return None
        return self._ledger.look(lambda db: find_by_message_id(db, message_id))

    async def _answer_again(self, known: RequestRecord, new: NewRequest, actor: str) -> RequestRecord:
        if email_key(known.email) != email_key(new.email):
            raise MessageIdConflict(new.message_id)
        if known.outcome == known.told_outcome:
            return known
        # This answer tells the attendee the current outcome: no follow-up needed for it.
        async with self._ledger.write(actor) as tx:
            told = await mark_told(tx, known.id)
        assert told is not None
        return told

    async def session_registered(self, date: dt.date, actor: str) -> int:
        """A session arrived: pending requests of its date (or a day off) may now be meant by it."""
        return await self._redecide_near(date, None, actor)

    async def list_submitted(self, session_id: str, version: int, date: dt.date, actor: str) -> int:
        """A list version arrived: decide again the pending requests of its date and the refusals of the
        last 30 days (a corrected list can turn a refusal into a certificate)."""
        since = (self._clock() - dt.timedelta(days=PENDING_WINDOW_DAYS)).isoformat()
        changed = await self._redecide_near(date, since, actor)
        try:
            async with self._ledger.write(actor) as tx:
                await mark_list_redecided(tx, session_id, version)
        except Exception:
            log.exception("could not mark list %s v%s decided again; the sweep will", session_id, version)
        return changed

    async def keep_current(self, actor: str) -> int:
        """The periodic sweep (and the one at start): refuse what waited too long, finish the
        re-decisions of lists whose submission was cut short, decide again whatever is still pending."""
        changed = await self.expire_stale(actor)
        async with self._ledger.read() as db:
            unfinished = await lists_awaiting_redecision(db)
        for session_id, version, date in unfinished:
            changed += await self.list_submitted(session_id, version, date, actor)
        async with self._ledger.read() as db:
            waiting = await list_requests(db, status="pending", notified=None, limit=100_000)
        return changed + await self._redecide_all(waiting, actor)

    async def _redecide_near(self, date: dt.date, rejected_since: str | None, actor: str) -> int:
        """It never fails its caller: the session or list is already stored, and what could not be
        decided now is decided by the next sweep."""
        try:
            async with self._ledger.read() as db:
                candidates = await open_requests_near(db, date, rejected_since)
        except Exception:
            log.exception("could not read the requests to decide again for %s", date)
            return 0
        return await self._redecide_all(candidates, actor)

    async def _redecide_all(self, requests: list[RequestRecord], actor: str) -> int:
        changed = 0
        for request in requests:
            try:
                changed += await self._redecide(request, actor)
            except Exception:
                log.exception("could not decide request %s again; the next sweep retries", request.id)
        return changed

    async def expire_stale(self, actor: str) -> int:
        """No session was registered for these within the window: they are refused now."""
        today = self._clock().date()
        async with self._ledger.read() as db:
            stale = await stale_pending(db, today - dt.timedelta(days=PENDING_WINDOW_DAYS))
        return await self._redecide_all(stale, actor)

    async def _redecide(self, request: RequestRecord, actor: str) -> bool:
        facts = RequestFacts(
            date=request.date, facilitator=request.facilitator, start_time=request.start_time
        )
        async with self._locks.hold(email_key(request.email)):
            async with self._ledger.read() as db:
                current = await get_request(db, request.id)
            if current is None or current.outcome == "issued":
                return False
            return await self._settle(
                request.email, facts, actor, lambda tx, decided: redecide_request(tx, request.id, decided)
            )

    async def _settle(
        self,
        email: str,
        facts: RequestFacts,
        actor: str,
        record: Callable[[Transaction, DecisionRecord], Awaitable[T]],
    ) -> T:
        """Decide, render if due, then record, deciding again inside the write transaction."""
        for _ in range(_ATTEMPTS):
            prepared = await self._prepare(email, facts)
            with contextlib.suppress(_Changed):
                async with self._ledger.write(actor) as tx:
                    return await self._record(tx, email, facts, prepared, record)
        raise RuntimeError("the ledger kept changing while deciding this request")

    async def _prepare(self, email: str, facts: RequestFacts) -> _Prepared:
        """Decide on what the ledger holds now; render the certificate when one is due (the reader
        connection is given back first: a render queued behind others must not hold it)."""
        async with self._ledger.read() as db:
            sessions = await session_facts_near(db, email, facts.date)
            decision = decide_request(facts, sessions, self._clock().date())
            if decision.action not in (Action.ISSUE, Action.SUPERSEDE):
                return _Prepared(decision, None)
        assert decision.session is not None and decision.session.entry is not None
        session_id = decision.session.id
        session = self._ledger.look(lambda db: get_session(db, session_id))
        assert session is not None
        issued_at = utc_now()
        serial = new_serial()
        content = CertificateContent(
            serial=serial,
            holder_name=decision.session.entry.name,
            issuer=self._issuer,
            title=session.title,
            session_date=session.date,
            start_time=session.start_time,
            timezone=session.timezone,
            duration_minutes=session.duration_minutes,
            facilitators=session.facilitators,
            delivery=session.delivery,
            issued_on=dt.datetime.fromisoformat(issued_at).date(),
            verify_url=self._signer.url_for(serial),
        )
        held = decision.session.certificate
        return _Prepared(
            decision,
            NewCertificate(
                content=content,
                session_id=session.id,
                email=decision.session.entry.email,
                list_version=decision.session.list_version or 0,
                supersedes=held.serial if held else None,
                issued_at=issued_at,
                pdf=await self._renderer.render(content),
            ),
        )

    async def _record(
        self,
        tx: Transaction,
        email: str,
        facts: RequestFacts,
        prepared: _Prepared,
        record: Callable[[Transaction, DecisionRecord], Awaitable[T]],
    ) -> T:
        sessions = await session_facts_near(tx.conn, email, facts.date)
        decision = decide_request(facts, sessions, self._clock().date())
        if _plan(decision) != _plan(prepared.decision):
            raise _Changed
        serial = None
        if prepared.certificate is not None:
            await insert_certificate(tx, prepared.certificate)
            serial = prepared.certificate.content.serial
        elif decision.action is Action.REUSE:
            assert decision.session is not None and decision.session.certificate is not None
            serial = decision.session.certificate.serial
        return await record(
            tx,
            DecisionRecord(
                outcome=decision.outcome,
                reason=decision.reason,
                message=message_for(decision, facts.date, self._issuer),
                session_id=decision.session.id if decision.session else None,
                serial=serial,
            ),
        )
