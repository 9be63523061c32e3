"""The world the email-intake tests run in: sessions and attendee lists of March 2026.

The corpus in tests/data/intake/corpus/ (and the samples copied from ../shared/samples/emails) is written
against exactly these sessions; every expectation in tests/data/intake/corpus/expectations.toml follows
from them and from SPEC §3. Dates are long past (more than 30 days before any test run), so a request
for a date without a session is refused as `no_session`, never pending.
"""

from typing import Any


def person(name: str, email: str, core: bool = True, full: bool = True) -> dict[str, Any]:
    return {"name": name, "email": email, "core_trained": core, "full_participation": full}


# Each: the session as POSTed, and its attendee list (None: the list is not submitted yet).
SESSIONS: list[tuple[dict[str, Any], list[dict[str, Any]] | None]] = [
    # The samples' session (../shared/samples): Wednesday 4 March 2026, 18:00 New York, Jane Doe.
    (
        {
            "date": "2026-03-04",
            "start_time": "18:00",
            "timezone": "America/New_York",
            "duration_minutes": 90,
            "facilitators": ["Jane Doe"],
            "level": "central",
        },
        [
            person("Aroha Ngata", "aroha@example.nz"),
            person("Miguel Ángel Torres", "miguel.torres@example.com"),
            person("Priya Raman", "priya@example.in", full=False),  # joined 24 minutes late
            person("Kai Becker", "kai.becker@example.de", full=False),  # left 34 minutes early
            person("Chidi Okafor", "chidi.okafor@example.org"),
            person("Lin Mei", "lin.mei@example.org"),
            person("Ruth Adler", "ruth@example.org", full=False),  # joined 20 minutes late
            person("Nguyễn Thị Minh", "minh@example.org"),
            person("Sofia Rossi", "sofia.rossi@example.it", core=False),  # not core-trained
            person("Ana Souza", "ana.souza@example.br"),  # also at the 10:00 session: two that day
        ],
    ),
    # A second session the same day, morning, two co-facilitators.
    (
        {
            "date": "2026-03-04",
            "start_time": "10:00",
            "timezone": "America/New_York",
            "duration_minutes": 90,
            "facilitators": ["Sam Lee", "Jane Smith"],
            "level": "central",
        },
        [
            person("Ana Souza", "ana.souza@example.br"),
            person("Olu Adeyemi", "olu@example.ng"),
            person("Grace Kim", "grace.kim@example.kr"),
        ],
    ),
    # Monday 9 March 2026, 19:00 London, Jane Doe: the list is not submitted yet (pending).
    (
        {
            "date": "2026-03-09",
            "start_time": "19:00",
            "timezone": "Europe/London",
            "duration_minutes": 90,
            "facilitators": ["Jane Doe"],
            "level": "central",
        },
        None,
    ),
    # Thursday 12 March 2026: a hub (local) session; hubs are not issued IPS Central certificates.
    (
        {
            "date": "2026-03-12",
            "start_time": "17:30",
            "timezone": "America/Chicago",
            "duration_minutes": 120,
            "facilitators": ["Hana Hubbard"],
            "level": "hub",
            "organization": "Prairie Peer Hub",
        },
        [person("Olu Adeyemi", "olu@example.ng"), person("Grace Kim", "grace.kim@example.kr")],
    ),
    # Tuesday 17 March 2026, 20:00 Los Angeles (already 18 March in Europe and Asia): Amir Haddad.
    (
        {
            "date": "2026-03-17",
            "start_time": "20:00",
            "timezone": "America/Los_Angeles",
            "duration_minutes": 90,
            "facilitators": ["Amir Haddad"],
            "level": "central",
        },
        [person("Yuki Tanaka", "yuki.tanaka@example.jp"), person("Grace Kim", "grace.kim@example.kr")],
    ),
    # Wednesday 25 March 2026: two Janes ran sessions; Grace attended both in full.
    (
        {
            "date": "2026-03-25",
            "start_time": "12:00",
            "timezone": "America/New_York",
            "duration_minutes": 60,
            "facilitators": ["Jane Doe"],
            "level": "central",
        },
        [person("Grace Kim", "grace.kim@example.kr"), person("Olu Adeyemi", "olu@example.ng")],
    ),
    (
        {
            "date": "2026-03-25",
            "start_time": "18:30",
            "timezone": "America/New_York",
            "duration_minutes": 90,
            "facilitators": ["Jane Smith"],
            "level": "central",
        },
        [person("Grace Kim", "grace.kim@example.kr")],
    ),
]

# The intake's own address (the From of its replies; mail from it is never answered).
INTAKE_ADDRESS = "info@ipscentral.test"
