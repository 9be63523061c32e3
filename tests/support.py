"""What the tests share: callers per role, shortcuts for set-up steps, and a real server on a free port."""

import asyncio
import datetime as dt
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
from litestar.testing import TestClient

from service.ledger.database import Ledger
from service.ledger.tokens import create_token
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "test-admin-token-0123456789"
TODAY = dt.datetime.now(dt.UTC).date()
RECENT = TODAY - dt.timedelta(days=5)


def base_env(tmp_path: Path) -> dict[str, str]:
    return {
        "CERTLEDGER_DB": str(tmp_path / "ledger.sqlite3"),
        "CERTLEDGER_BASE_URL": "https://certs.example.org",
        "CERTLEDGER_SECRET_KEYS": "first-signing-key-for-tests",
        "CERTLEDGER_LEDGER_KEY": "ledger-key-for-tests",
        "CERTLEDGER_ADMIN_TOKEN": ADMIN_TOKEN,
        "CERTLEDGER_PUBLIC_RATE_LIMIT": "0",
    }


def make_token(settings: Settings, role: str, name: str = "someone", levels: tuple[str, ...] = ()) -> str:
    async def create() -> str:
        ledger = Ledger(settings.db_path, settings.ledger_key)
        await ledger.open()
        try:
            async with ledger.write("test") as tx:
                _, token = await create_token(tx, role=role, name=name, email=None, levels=levels)
            return token
        finally:
            await ledger.close()

    return asyncio.run(create())


class Caller:
    """An HTTP client speaking as one token."""

    def __init__(self, client: Any, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        auth = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**auth, **(headers or {})}

    def get(self, url: str, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.client.get(url, headers=self._headers(headers), **kw)

    def post(self, url: str, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.client.post(url, headers=self._headers(headers), **kw)

    def put(self, url: str, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.client.put(url, headers=self._headers(headers), **kw)


class Service:
    """The app with a caller per role, and shortcuts for the common set-up steps."""

    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.admin = Caller(client, ADMIN_TOKEN)
        self.intake = Caller(client, make_token(settings, "intake", "intake"))
        self.anonymous = Caller(client, None)

    def facilitator(self, name: str = "Jane Doe", levels: tuple[str, ...] = ("central", "hub")) -> Caller:
        return Caller(self.client, make_token(self.settings, "facilitator", name, levels))

    def session(self, caller: Caller | None = None, **fields: Any) -> dict[str, Any]:
        body = {
            "date": RECENT.isoformat(),
            "start_time": "18:00",
            "timezone": "America/New_York",
            "duration_minutes": 90,
            "facilitators": ["Jane Doe"],
            "level": "central",
            **fields,
        }
        response = (caller or self.admin).post("/api/v1/sessions", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def attendees(self, session_id: str, rows: list[dict[str, Any]], caller: Caller | None = None) -> dict:
        response = (caller or self.admin).put(
            f"/api/v1/sessions/{session_id}/attendees", json={"attendees": rows}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def ask(self, **fields: Any) -> dict[str, Any]:
        body = {"facilitator": "Jane Doe", "date": RECENT.isoformat(), **fields}
        response = self.intake.post("/api/v1/certificate-requests", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def verify(self, verify_url: str, accept: str = "application/json") -> httpx.Response:
        path = verify_url.removeprefix(self.settings.base_url)
        return self.client.get(path, headers={"Accept": accept})


def attendee(name: str, email: str, core: bool = True, full: bool = True, **extra: Any) -> dict[str, Any]:
    return {"name": name, "email": email, "core_trained": core, "full_participation": full, **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """`certledger serve` in a subprocess on a free port; its log goes to a file beside the database."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.env = env
        self.args = args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(env["CERTLEDGER_DB"]).with_suffix(f".{self.port}.log")
        self.start()

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service", "serve", "--port", str(self.port), *self.args],
                env={**os.environ, **self.env},
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start within 30 s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def certledger(env: dict[str, str], *args: str, text: bool = True) -> subprocess.CompletedProcess[Any]:
    """The real command line in a child process (`python -m service …`), with `env` over the environment;
    text=False keeps stdout as bytes (CSV with CRLF line ends)."""
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=text,
        timeout=120,
    )


def unavailable(reason: str) -> NoReturn:
    """A tool a test needs is missing: under CI=true a failure (scripts/test.sh installs every one),
    elsewhere a skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def require_tool(name: str, package: str) -> str:
    """The path of the executable `name`, from the Debian package `package`."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (apt-get install {package})")
    return path


def render_process_ids(*, zombies: bool = False) -> set[int]:
    """This process's PDF render processes (with zombies: also those that exited and were not reaped yet);
    other children (a browser driver, a live server) are left out."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    command = cmdline.read()
            except OSError:
                continue
            is_zombie = fields[0] == "Z"  # a zombie's cmdline is empty
            ours = int(fields[1]) == os.getpid() and (is_zombie or b"render_worker" in command)
            if ours and (zombies or not is_zombie):
                found.add(int(entry))
    return found


class Unreliable:
    """A connection whose next statement containing `fails_on` raises, as SQLite does when busy."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.fails_on: str | None = None

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if self.fails_on is not None and self.fails_on in sql:
            self.fails_on = None
            raise sqlite3.OperationalError("database is locked")
        return self.db.execute(sql, *args)
