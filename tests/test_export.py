"""`certledger export`: the attendance and certificates CSV of an organization and period, the same file the
portal's staff export downloads, with plain-sentence errors."""

import csv
import datetime as dt
import functools
import io
import re
from pathlib import Path

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.portal.export import COLUMNS
from service.portal.export import _cell as export_cell
from service.settings import Settings
from tests.support import ADMIN_TOKEN, RECENT, Service, attendee
from tests.support import certledger as run_certledger

FIRST = (RECENT - dt.timedelta(days=3)).isoformat()
LAST = RECENT.isoformat()
COUNTY_HEALTH_EXPORT = ("export", "--organization", "County Health", "--from", FIRST, "--to", LAST)
# The CSV's bytes as written (CRLF line ends, a BOM).
certledger = functools.partial(run_certledger, text=False)


@pytest.fixture
def ledger_with_attendance(service: Service) -> dict[str, str]:
    """Two County Health sessions in the period (one certificate issued, one later revoked), one outside
    it, and another organization's session."""
    first = service.session(organization="County Health", date=LAST)
    service.attendees(
        first["id"],
        [
            attendee("Ana Ruiz", "ana@example.org"),
            attendee("Nguyễn Thị Minh", "minh@example.org", full=False),
        ],
    )
    second = service.session(
        organization="County Health", date=FIRST, start_time="09:00", facilitators=["Sam Lee"]
    )
    service.attendees(second["id"], [attendee("Bo Lind", "bo@example.org")])
    ana = service.ask(email="ana@example.org", date=LAST)["certificate"]
    bo = service.ask(email="bo@example.org", date=FIRST, facilitator="Sam Lee")["certificate"]
    revoked = service.admin.post(f"/api/v1/certificates/{bo['serial']}/revoke", json={"reason": "Left early"})
    assert revoked.status_code == 200
    outside = service.session(organization="County Health", date=(RECENT - dt.timedelta(days=20)).isoformat())
    service.attendees(outside["id"], [attendee("Cy Twin", "cy@example.org")])
    other = service.session(organization="Hub North", date=LAST, level="hub", facilitators=["Di Ode"])
    service.attendees(other["id"], [attendee("Eve Ng", "eve@example.org")])
    return {"ana": ana["serial"], "bo": bo["serial"]}


def rows_of(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_export_writes_the_csv_to_stdout(env: dict[str, str], ledger_with_attendance: dict[str, str]):
    done = certledger(env, "export", "--organization", "county health", "--from", FIRST, "--to", LAST)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(b"\r\n", 1)[0].decode("utf-8-sig") == ",".join(COLUMNS)
    rows = rows_of(done.stdout)
    assert [(r["session_date"], r["email"]) for r in rows] == [
        (FIRST, "bo@example.org"),
        (LAST, "ana@example.org"),
        (LAST, "minh@example.org"),
    ]
    bo, ana, minh = rows
    assert bo["certificate_serial"] == ledger_with_attendance["bo"] and bo["certificate_status"] == "revoked"
    assert bo["revoked_at"] and bo["facilitators"] == "Sam Lee" and bo["start_time"] == "09:00"
    assert ana["certificate_serial"] == ledger_with_attendance["ana"] and ana["certificate_status"] == "valid"
    assert ana["verify_url"].startswith("https://certs.example.org/v/") and ana["issued_at"]
    assert minh["attendee_name"] == "Nguyễn Thị Minh" and minh["full_participation"] == "no"
    assert minh["certificate_serial"] == minh["certificate_status"] == minh["issued_at"] == ""
    assert b"\r\n" in done.stdout
    assert "3 rows from 2 sessions" in done.stderr.decode()


def test_export_is_the_same_file_as_the_portals_download(
    env: dict[str, str], settings: Settings, ledger_with_attendance: dict[str, str]
):
    done = certledger(
        env,
        *COUNTY_HEALTH_EXPORT,
    )
    with TestClient(create_app(settings, render_processes=0), base_url="https://portal.test") as client:
        page = client.get("/portal/")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        client.post("/portal/sign-in", data={"token": ADMIN_TOKEN, "csrf_token": token.group(1)})
        download = client.get(
            "/portal/staff/export", params={"organization": "County Health", "from": FIRST, "to": LAST}
        )
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert download.content == done.stdout


def test_export_to_a_file(env: dict[str, str], tmp_path: Path, ledger_with_attendance: dict[str, str]):
    target = tmp_path / "county.csv"
    done = certledger(
        env,
        *COUNTY_HEALTH_EXPORT,
        "--output",
        str(target),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""
    assert len(rows_of(target.read_bytes())) == 3
    assert f"written to {target}" in done.stderr.decode()


def test_an_organization_without_sessions_gives_the_header_and_says_which_exist(
    env: dict[str, str], ledger_with_attendance: dict[str, str]
):
    done = certledger(env, "export", "--organization", "Nowhere Inc", "--from", FIRST, "--to", LAST)
    assert done.returncode == 0
    assert rows_of(done.stdout) == []
    message = done.stderr.decode()
    assert "0 rows" in message and "County Health" in message and "Hub North" in message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--organization", "X", "--from", "2026-13-01", "--to", LAST], "--from '2026-13-01' is not a date"),
        (["--organization", "X", "--from", FIRST, "--to", "yesterday"], "--to 'yesterday' is not a date"),
        (["--organization", "X", "--from", LAST, "--to", FIRST], "is after --to"),
        (["--organization", "  ", "--from", FIRST, "--to", LAST], "--organization must name"),
        (["--from", FIRST, "--to", LAST], "the following arguments are required: --organization"),
    ],
)
def test_bad_input_is_a_plain_sentence(env: dict[str, str], args: list[str], message: str):
    done = certledger(env, "export", *args)
    assert done.returncode == 2
    stderr = done.stderr.decode()
    assert message in stderr and "Traceback" not in stderr
    assert done.stdout == b""


def test_an_unwritable_output_is_a_plain_sentence(
    env: dict[str, str], tmp_path: Path, ledger_with_attendance: dict[str, str]
):
    target = tmp_path / "missing-folder" / "out.csv"
    done = certledger(
        env, "export", "--organization", "X", "--from", FIRST, "--to", LAST, "--output", str(target)
    )
    assert done.returncode == 1
    assert f"cannot write {target}" in done.stderr.decode() and "Traceback" not in done.stderr.decode()


def test_a_database_that_does_not_exist_is_refused_and_not_created(
    env: dict[str, str], tmp_path: Path, ledger_with_attendance: dict[str, str]
):
    """A mistyped CERTLEDGER_DB is a mistake to say, not an empty ledger to create and export from."""
    typo = tmp_path / "ledger.sqlite" / ".." / "legder.sqlite3"
    for missing in (tmp_path / "legder.sqlite3", tmp_path / "no-such-folder" / "ledger.sqlite3", typo):
        done = certledger(
            {**env, "CERTLEDGER_DB": str(missing)},
            *COUNTY_HEALTH_EXPORT,
        )
        assert done.returncode == 2, done.stderr
        stderr = done.stderr.decode()
        assert f"there is no database at {missing}" in stderr and "CERTLEDGER_DB" in stderr
        assert "Traceback" not in stderr and done.stdout == b""
        assert not missing.exists()
    assert not list(tmp_path.glob("legder*"))  # no database, no key file


@pytest.mark.parametrize("cell", ["=1+1", "  =HYPERLINK(1)", " +1", "\t@SUM(A1)", " -2"])
def test_a_formula_is_defused_even_after_leading_spaces(cell: str):
    assert export_cell(cell) == f"'{cell}"
    assert export_cell("  Ana Ruiz") == "  Ana Ruiz" and export_cell("Nguyễn-Thị") == "Nguyễn-Thị"


def test_export_help(env: dict[str, str]):
    done = certledger(env, "export", "--help")
    assert done.returncode == 0
    text = done.stdout.decode()
    for flag in ("--organization", "--from", "--to", "--output"):
        assert flag in text
    assert "export" in certledger(env, "--help").stdout.decode()
