"""Seeding a ledger for scale measurements (issue 6, target 3): many sessions and attendee lists, fast.

Everything goes through the real write path: facilitator tokens through `create_token`, each session
through `create_session`, each list through `submit_list` and `mark_list_redecided`, inside
`Ledger.write` transactions whose events the ledger key chains. So the result is a ledger like any other:
`certledger audit` passes on it, and the server decides requests against it with the real rules. Speed
comes only from batching: one write transaction per `batch` sessions instead of one per step (each
commit of a WAL database costs a write of the WAL and, with synchronous=NORMAL, no fsync, but the
per-transaction work of the write lock and the checkpointing adds up over 200,000 steps).

The events say who did it: the actor is `system:seed`, not the facilitators, since no facilitator did.

The world it makes (deterministic for a given `seed`, apart from the random session ids):

- dates run back from `last_date` (yesterday by default), `sessions_per_day` on average (between half
  and one and a half times it), oldest first, as a ledger grows; the newest fall inside SPEC's 30-day
  request window, the oldest years before it;
- one session in `hub_every` is a local hub's (organization named, level hub), the others IPS Central;
- one or two facilitators from a pool of names, each with a facilitator token that owns their sessions;
- online and in-person sessions, at times from 08:00 to 20:30 in several US time zones;
- `rows_per_session` attendees per list, drawn from a population of people (about ten lists each over
  the whole ledger); nobody is on two lists of the same day, so every eligible attendee's request for a
  date is decidable by the email alone; most people are core-trained and most rows fully attended;
- one list in `correction_every` gets a second version that corrects one row's name (as a facilitator's
  fix would), so "the latest version" is exercised too.

Seeding the same ledger twice reuses the same people and, unless `last_date` moves, the same dates: then
someone can be on two lists of a day, and their request names the session by facilitator or time.
"""

import contextlib
import datetime as dt
import random
import sqlite3
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

import msgspec

from service.ledger.database import Ledger
from service.ledger.sessions import ListRow, NewSession, create_session, mark_list_redecided, submit_list
from service.ledger.tokens import create_token

SEED_ACTOR = "system:seed"

# Names from the scripts certificates must render (Latin with diacritics, Greek, Cyrillic, Vietnamese),
# so that rows are as long as real ones, not artificially short ASCII.
GIVEN = (
    "Minh", "Έλενα", "Анна", "José", "Zoë", "Siobhán", "Łukasz", "Ngọc", "Dmitri", "Ana", "Ólafur",
    "Priya", "Kwame", "Marguerite", "Tomás", "Aisha", "Jonathan", "Hiroshi", "Fatima", "Björn",
)  # fmt: skip
FAMILY = (
    "Nguyễn Thị", "Παπαδοπούλου", "Иванова", "García", "O'Brien", "Müller", "Wójcik", "Trần", "Okafor",
    "Johnson", "Raman", "Haddad", "Lindqvist", "Takahashi", "Fernández", "Kowalski", "Mensah", "Dubois",
)  # fmt: skip
FACILITATOR_GIVEN = ("Jane", "Sam", "Priya", "Tomás", "Chloé", "Ben", "Ruth", "Omar", "Lena", "Carlos")
FACILITATOR_FAMILY = ("Doe", "Lee", "Raman", "Ortega", "Martin", "Adeyemi", "Stein", "Haddad", "Kim", "Silva")
HUBS = ("Northside Hub", "River Valley Hub", "Coastal Peer Hub", "Lakeshore Hub", "Mountain Region Hub")
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
PRONOUNS = ("she/her", "he/him", "they/them")
START_TIMES = tuple(f"{h:02d}:{m:02d}" for h in range(8, 21) for m in (0, 30))
DURATIONS = (60, 90, 90, 120)


class SeedPlan(msgspec.Struct, frozen=True, kw_only=True):
    sessions: int
    rows_per_session: int = 10
    sessions_per_day: int = 20
    last_date: dt.date | None = None  # default: yesterday (UTC)
    hub_every: int = 5  # one session in five is a hub's
    correction_every: int = 50  # one list in fifty gets a corrected second version; 0: none
    facilitators: int = 60
    batch: int = 2_000  # sessions per write transaction
    seed: int = 6

    def __post_init__(self) -> None:
        if (
            min(self.sessions, self.rows_per_session, self.sessions_per_day, self.batch, self.facilitators)
            < 1
        ):
            raise ValueError(
                "sessions, rows per session, sessions per day, facilitators and batch must be at least 1"
            )
        if self.hub_every < 0 or self.correction_every < 0:
            raise ValueError("hub_every and correction_every must be 0 (none) or more")


class SeedResult(msgspec.Struct, frozen=True, kw_only=True):
    sessions: int
    central_sessions: int
    hub_sessions: int
    list_versions: int
    attendee_rows: int
    people: int
    tokens: int
    events: int
    first_date: dt.date
    last_date: dt.date
    transactions: int
    seconds: float
    redecided: bool  # list versions marked as decided again (nothing was waiting)


class _Person(msgspec.Struct, frozen=True):
    name: str
    email: str
    core_trained: bool
    pronouns: str | None


def _ascii(text: str) -> str:
    """An email-safe spelling of a name: accents dropped, non-Latin scripts give way to the number."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


def _person(number: int, rng: random.Random) -> _Person:
    given, family = GIVEN[number % len(GIVEN)], FAMILY[(number // len(GIVEN)) % len(FAMILY)]
    local = ".".join(part for part in (_ascii(given), _ascii(family.split()[-1])) if part) or "attendee"
    return _Person(
        name=f"{given} {family}",
        email=f"{local}.{number}@example.org",
        core_trained=rng.random() < 0.88,
        pronouns=rng.choice(PRONOUNS) if rng.random() < 0.25 else None,
    )


def _day_counts(plan: SeedPlan, rng: random.Random) -> list[int]:
    """Sessions per day, newest day first, summing to plan.sessions."""
    low, high = max(1, plan.sessions_per_day // 2), max(1, plan.sessions_per_day * 3 // 2)
    counts, left = [], plan.sessions
    while left > 0:
        counts.append(min(left, rng.randint(low, high)))
        left -= counts[-1]
    return counts


async def seed_ledger(
    ledger: Ledger, plan: SeedPlan, progress: Callable[[int, int], None] | None = None
) -> SeedResult:
    """Add plan.sessions sessions with their lists to an open ledger; `progress(done, total)` after
    every transaction."""
    started = time.perf_counter()
    rng = random.Random(plan.seed)  # noqa: S311 (made-up test data, reproducible by design)
    last_date = plan.last_date or dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    counts = _day_counts(plan, rng)
    first_date = last_date - dt.timedelta(days=len(counts) - 1)
    busiest_day = max(counts) * plan.rows_per_session
    # About ten lists per person over the ledger, and always enough people for the busiest day.
    population = max(2 * busiest_day, plan.sessions * plan.rows_per_session // 10)
    people = [_person(n, rng) for n in range(population)]

    async with ledger.read() as db:
        waiting = await db.execute_fetchall(
            "SELECT 1 FROM certificate_requests WHERE outcome <> 'issued' LIMIT 1"
        )
    # With no request waiting, deciding again after each list would find nothing to decide: mark each
    # list decided again (in its batch's transaction), so the server's start-up sweep has nothing to
    # catch up. With requests waiting, leave the lists to that sweep (the real re-decision path).
    redecide = not waiting

    facilitator_names = [
        f"{FACILITATOR_GIVEN[i % len(FACILITATOR_GIVEN)]} {FACILITATOR_FAMILY[(i * 7 + i // 10) % 10]}"
        + (f" {i // 100 + 1}" if i >= 100 else "")
        for i in range(plan.facilitators)
    ]
    owners: list[int] = []
    tokens = 0
    async with ledger.write(SEED_ACTOR) as tx:
        for name in facilitator_names:
            record, _ = await create_token(
                tx,
                role="facilitator",
                name=name,
                email=f"{_ascii(name.split()[0])}.{_ascii(name.split()[1])}@facilitators.example.org",
                levels=("central", "hub"),
            )
            owners.append(record.id)
            tokens += 1

    # Each session's date, oldest first, as a ledger grows.
    per_date = {first_date + dt.timedelta(days=n): count for n, count in enumerate(reversed(counts))}
    dates = [date for date, count in per_date.items() for _ in range(count)]
    done = central = hub = versions = rows = transactions = 0
    today_people: list[int] = []
    while done < plan.sessions:
        async with ledger.write(SEED_ACTOR) as tx:
            transactions += 1
            for _ in range(min(plan.batch, plan.sessions - done)):
                date = dates[done]
                if done == 0 or dates[done - 1] != date:
                    # Nobody is on two lists of one day: each person's request for a date is decidable
                    # by the email alone.
                    today_people = rng.sample(range(population), per_date[date] * plan.rows_per_session)
                is_hub = done % plan.hub_every == plan.hub_every - 1 if plan.hub_every else False
                chosen = rng.sample(range(plan.facilitators), 2 if rng.random() < 0.3 else 1)
                session = await create_session(
                    tx,
                    NewSession(
                        date=date,
                        start_time=rng.choice(START_TIMES),
                        timezone=rng.choice(ZONES),
                        duration_minutes=rng.choice(DURATIONS),
                        facilitators=tuple(facilitator_names[i] for i in chosen),
                        level="hub" if is_hub else "central",
                        organization=rng.choice(HUBS) if is_hub else None,
                        title="IPS Co-reflection",
                        delivery="online" if rng.random() < 0.7 else "in_person",
                    ),
                    owners[chosen[0]],
                )
                listed = [people[today_people.pop()] for _ in range(plan.rows_per_session)]
                list_rows = [
                    ListRow(
                        name=p.name,
                        email=p.email,
                        core_trained=p.core_trained,
                        full_participation=rng.random() < 0.9,
                        pronouns=p.pronouns,
                    )
                    for p in listed
                ]
                version = await submit_list(tx, session.id, list_rows)
                versions += 1
                rows += len(list_rows)
                if plan.correction_every and done % plan.correction_every == plan.correction_every - 1:
                    # A facilitator's fix: the same list with one name spelled differently.
                    fixed = [*list_rows]
                    fixed[0] = msgspec.structs.replace(fixed[0], name=f"{fixed[0].name} Jr.")
                    version = await submit_list(tx, session.id, fixed)
                    versions += 1
                    rows += len(fixed)
                if redecide:
                    for v in range(1, version + 1):
                        await mark_list_redecided(tx, session.id, v)
                central += not is_hub
                hub += is_hub
                done += 1
        if progress is not None:
            progress(done, plan.sessions)

    async with ledger.read() as db:
        (events,) = (await db.execute_fetchall("SELECT COUNT(*) FROM events"))[0]
    return SeedResult(
        sessions=done,
        central_sessions=central,
        hub_sessions=hub,
        list_versions=versions,
        attendee_rows=rows,
        people=population,
        tokens=tokens,
        events=events,
        first_date=first_date,
        last_date=last_date,
        transactions=transactions + 1,
        seconds=time.perf_counter() - started,
        redecided=redecide,
    )


def holds_sessions(db_path: Path) -> bool:
    """Whether the file is a ledger with sessions in it (read-only: a missing file stays missing)."""
    if not db_path.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
            return db.execute("SELECT EXISTS (SELECT 1 FROM sessions)").fetchone()[0] == 1
    except sqlite3.Error:
        return False  # not a ledger yet: opening it migrates it, or says what is wrong


async def seed_path(
    db_path: Path, ledger_key: str, plan: SeedPlan, progress: Callable[[int, int], None] | None = None
) -> SeedResult:
    """Open (and migrate) the ledger at db_path, seed it, close it."""
    ledger = Ledger(db_path, ledger_key)
    await ledger.open()
    try:
        return await seed_ledger(ledger, plan, progress)
    finally:
        await ledger.close()


class EligibleAttendee(msgspec.Struct, frozen=True, kw_only=True):
    """Someone a request names, as the seeded ledger holds them."""

    email: str
    name: str
    date: dt.date
    facilitator: str
    start_time: str | None
    session_id: str
    level: str


def sample_attendees(
    db_path: Path, count: int, *, level: str = "central", seed: int = 0, eligible: bool = True
) -> list[EligibleAttendee]:
    """`count` people on the latest list of sessions of `level`, eligible (core-trained, full
    participation) or not, without a certificate for that session, spread over the whole ledger: random
    sessions, as few from each as `count` allows.

    Reads the file directly (a benchmark's or a test's set-up, not a request path), session by session
    through the primary keys, so it never scans the attendees table.
    """
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        ids = [r[0] for r in db.execute("SELECT id FROM sessions WHERE level = ?", (level,))]
        rng = random.Random(seed)  # noqa: S311 (a reproducible sample, not a secret)
        rng.shuffle(ids)
        # Twice the even share: some sessions have fewer such people than that share.
        per_session = max(1, -(-2 * count // max(1, len(ids))))
        found: list[EligibleAttendee] = []
        for session_id in ids:
            if len(found) >= count:
                break
            rows = db.execute(
                "SELECT a.email, a.name, s.date, s.start_time, s.facilitators, s.level"
                " FROM sessions s JOIN attendees a ON a.session_id = s.id"
                " AND a.version = (SELECT MAX(version) FROM list_versions v WHERE v.session_id = s.id)"
                " WHERE s.id = ? AND (a.core_trained AND a.full_participation) = ?"
                " AND NOT EXISTS (SELECT 1 FROM certificates c"
                "                 WHERE c.session_id = s.id AND c.email_key = a.email_key)"
                " ORDER BY a.position LIMIT ?",
                (session_id, int(eligible), min(per_session, count - len(found))),
            ).fetchall()
            found.extend(
                EligibleAttendee(
                    email=row["email"],
                    name=row["name"],
                    date=dt.date.fromisoformat(row["date"]),
                    facilitator=msgspec.json.decode(row["facilitators"])[0],
                    start_time=row["start_time"],
                    session_id=session_id,
                    level=row["level"],
                )
                for row in rows
            )
        return found
    finally:
        db.close()
