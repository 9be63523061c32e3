"""The browser portal over ASGI (SPEC §6, issue 4): sign-in and its cookie, CSRF, ownership, forms with
their errors beside the field, the review table to a stored version, certificate statuses, staff pages
and the CSV export. Pages are read the way a browser and a screen reader would: forms, labels, links."""

import asyncio
import csv
import datetime as dt
import html
import io
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.ledger.database import Ledger
from service.ledger.tokens import hash_token, revoke_token
from service.portal.typed_list import read_typed_list
from service.settings import Settings, load_settings
from tests.support import ADMIN_TOKEN, RECENT, ROOT, Caller, Service, attendee, make_token

REPORTS = ROOT / "tests" / "data" / "reports"
ZOOM_REPORT = REPORTS / "zoom-participants.csv"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def zoom_report() -> bytes:
    return ZOOM_REPORT.read_bytes()


class Page(HTMLParser):
    """What a page offers a person: its inputs with their labels and descriptions, tables, links, text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []
        self.labels: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.th_scopes: list[str | None] = []
        self.links: list[str] = []
        self.html_lang: str | None = None
        self._label_for: str | None = None
        self._text_of: list[tuple[str, list[str]]] = []
        self._depth: list[str] = []
        self.text_parts: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        if tag in ("input", "textarea", "select") and a.get("type") != "hidden":
            self.inputs.append({"tag": tag, **a})
        if tag == "label":
            self._label_for = a.get("for")
            self._text_of.append(("label", []))
        if tag == "th":
            self.th_scopes.append(a.get("scope"))
        if tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
        if a.get("id") and tag not in ("input", "textarea", "select"):
            self._text_of.append((f"id:{a['id']}", []))
            self._depth.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._text_of:
            kind, parts = self._text_of.pop()
            if self._label_for:
                self.labels[self._label_for] = " ".join("".join(parts).split())
            self._label_for = None
        elif self._depth and tag == self._depth[-1] and self._text_of:
            self._depth.pop()
            kind, parts = self._text_of.pop()
            self.ids[kind.removeprefix("id:")] = " ".join("".join(parts).split())

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)
        for _, parts in self._text_of:
            parts.append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.text_parts).split())

    def input_named(self, name: str) -> dict[str, str | None]:
        return next(i for i in self.inputs if i.get("name") == name)

    def error_for(self, name: str) -> str:
        """The error a screen reader reads with the input: its aria-describedby target ending in -error."""
        field = self.input_named(name)
        described = (field.get("aria-describedby") or "").split()
        errors = [self.ids[i] for i in described if i.endswith("-error")]
        assert errors, f"no error is linked to {name!r}"
        assert field.get("aria-invalid") == "true"
        return errors[0]


def assert_accessible(response: httpx.Response) -> Page:
    """Every page: lang, a skip link, each visible input labelled, column headers with a scope."""
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    page = Page(response.text)
    assert page.html_lang == "en"
    assert "#main" in page.links
    for field in page.inputs:
        if field.get("type") in ("submit", "button"):
            continue
        assert field.get("id") in page.labels and page.labels[field["id"] or ""], f"unlabelled: {field}"
    assert all(scope in ("col", "row") for scope in page.th_scopes), page.th_scopes
    assert "<script" not in response.text and "style=" not in response.text
    return page


class Browser:
    """A browser with its own cookie jar: it fetches pages and sends their forms with their CSRF field."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.last: httpx.Response | None = None

    def get(self, path: str, **kw: Any) -> httpx.Response:
        self.last = self.client.get(path, **kw)
        return self.last

    def csrf(self) -> str:
        if self.last is None or not CSRF.search(self.last.text):
            self.get("/portal/")
        assert self.last is not None
        found = CSRF.search(self.last.text)
        assert found, self.last.text
        return found.group(1)

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        body = {"csrf_token": self.csrf(), **(data or {})}
        self.last = self.client.post(path, data=body, **kw)
        return self.last

    def sign_in(self, token: str) -> httpx.Response:
        self.get("/portal/")
        response = self.post("/portal/sign-in", {"token": token})
        assert response.status_code == 200 and response.url.path == "/portal/sessions", response.text
        return response

    def register(self, **fields: str) -> str:
        self.get("/portal/sessions/new")
        form = {
            "date": RECENT.isoformat(),
            "start_time": "18:00",
            "timezone": "America/New_York",
            "duration_minutes": "90",
            "facilitators": "Jane Doe",
            "level": "central",
            "title": "IPS Co-reflection",
            "delivery": "online",
            **fields,
        }
        response = self.post("/portal/sessions", form)
        assert response.status_code == 200, response.text
        return response.url.path.rsplit("/", 1)[1]


def review_form(response: httpx.Response) -> dict[str, str]:
    """The review table's fields as the browser would send them untouched (ticked boxes only)."""
    fields: dict[str, str] = {}
    for match in re.finditer(r"<input ([^>]*)>", response.text):
        attrs = dict(re.findall(r'([a-z_-]+)="([^"]*)"', match.group(1)))
        name = attrs.get("name")
        if not name or name == "csrf_token":
            continue
        if attrs.get("type") == "checkbox":
            if " checked" in match.group(1):
                fields[name] = html.unescape(attrs.get("value", "on"))
        elif attrs.get("type") != "file":
            fields[name] = html.unescape(attrs.get("value", ""))
    return fields


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    # https: the session cookie is Secure there, as in production; the client keeps it only over https.
    with TestClient(create_app(settings, render_processes=0), base_url="https://portal.test") as client:
        yield client


@pytest.fixture
def api(app_client: TestClient, settings: Settings) -> Service:
    return Service(app_client, settings)


@pytest.fixture
def browser(app_client: TestClient) -> Browser:
    return Browser(app_client)


@pytest.fixture
def jane(settings: Settings) -> str:
    return make_token(settings, "facilitator", "Jane Doe", ("central", "hub"))


def other_browser(settings: Settings, base_url: str = "https://portal.test") -> TestClient:
    return TestClient(create_app(settings, render_processes=0), base_url=base_url)


# --- signing in -------------------------------------------------------------------------------------


def test_sign_in_sets_a_secure_httponly_cookie_without_the_token(browser: Browser, jane: str):
    page = assert_accessible(browser.get("/portal/"))
    assert page.input_named("token")["type"] == "password"
    response = browser.post("/portal/sign-in", {"token": jane}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/portal/sessions"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Path=/portal" in cookie
    assert jane not in cookie and jane[3:20] not in cookie
    sessions = browser.get("/portal/sessions")
    assert sessions.status_code == 200 and "Signed in as Jane Doe" in sessions.text


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "certs.example.org"])
def test_cookie_is_secure_when_the_public_address_is_https_whatever_the_host_header(
    settings: Settings, host: str
):
    """CERTLEDGER_BASE_URL decides, not the request: a client chooses its Host header, and behind a TLS
    proxy the service itself is spoken to over http."""
    assert settings.base_url.startswith("https://")
    with other_browser(settings, "http://127.0.0.1:8000") as client:
        response = client.get("/portal/", headers={"Host": host, "X-Forwarded-Proto": "http"})
        assert "Secure" in response.headers["set-cookie"]
        signed_out = client.post("/portal/sign-out", headers={"Host": host})
        assert "Secure" in signed_out.headers["set-cookie"]  # the deleting cookie too


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "certs.example.org"])
def test_cookie_is_not_secure_when_the_public_address_is_plain_http(env: dict[str, str], host: str):
    local = load_settings({**env, "CERTLEDGER_BASE_URL": "http://127.0.0.1:8000"})
    with other_browser(local, "https://portal.test") as client:
        response = client.get("/portal/", headers={"Host": host, "X-Forwarded-Proto": "https"})
        assert "Secure" not in response.headers["set-cookie"]


def test_signing_in_over_http_works_when_the_public_address_is_http(env: dict[str, str], jane: str):
    local = load_settings({**env, "CERTLEDGER_BASE_URL": "http://127.0.0.1:8000"})
    with other_browser(local, "http://127.0.0.1:8000") as client:
        Browser(client).sign_in(jane)
        assert client.get("/portal/sessions").status_code == 200


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "Enter the token staff gave you."),
        ("cl_not-a-real-token", "not valid"),
        ("x" * 600, "not valid"),
    ],
)
def test_a_wrong_token_is_refused_beside_the_field(browser: Browser, token: str, message: str):
    browser.get("/portal/")
    response = browser.post("/portal/sign-in", {"token": token})
    assert response.status_code == 400
    page = assert_accessible(response)
    assert message in page.error_for("token")
    assert browser.get("/portal/sessions", follow_redirects=False).status_code == 303


def test_intake_tokens_do_not_open_the_portal_and_admin_tokens_do(browser: Browser, api: Service):
    browser.get("/portal/")
    response = browser.post("/portal/sign-in", {"token": api.intake.token})
    assert response.status_code == 400
    assert "email-intake token" in Page(response.text).error_for("token")
    browser.sign_in(ADMIN_TOKEN)
    staff_page = browser.get("/portal/sessions").text
    assert "Signed in as staff" in staff_page and "Find a person" in staff_page


def test_signed_out_visitors_are_sent_to_sign_in_and_come_back(browser: Browser, jane: str):
    response = browser.get("/portal/sessions/new", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/?next=%2Fportal%2Fsessions%2Fnew"
    page = browser.get(response.headers["location"])
    assert 'name="next" value="/portal/sessions/new"' in page.text
    signed_in = browser.post("/portal/sign-in", {"token": jane, "next": "/portal/sessions/new"})
    assert signed_in.url.path == "/portal/sessions/new"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/portal/",
        "/api/v1/sessions",
        "/portal/../api/v1/sessions",
        "/portal/%2e%2e/%2E%2E/v/x",
        "/portal/%5c%5cevil.example/",
    ],
)
def test_sign_in_never_redirects_off_the_portal(browser: Browser, jane: str, target: str):
    browser.get("/portal/")
    response = browser.post("/portal/sign-in", {"token": jane, "next": target}, follow_redirects=False)
    assert response.headers["location"] == "/portal/sessions"


def test_sign_out_deletes_the_cookie(browser: Browser, jane: str):
    browser.sign_in(jane)
    browser.get("/portal/sessions")
    response = browser.post("/portal/sign-out", follow_redirects=False)
    assert response.status_code == 303
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert browser.get("/portal/sessions", follow_redirects=False).status_code == 303
    assert "You are signed out" in browser.get("/portal/?signed_out=1").text


def test_a_revoked_token_ends_its_portal_session(browser: Browser, api: Service, settings: Settings):
    token = make_token(settings, "facilitator", "Sam Lee", ("hub",))
    browser.sign_in(token)

    async def revoke() -> None:
        ledger = Ledger(settings.db_path, settings.ledger_key)
        await ledger.open()
        try:
            async with ledger.write("test") as tx:
                rows = await tx.conn.execute_fetchall(
                    "SELECT id FROM tokens WHERE token_hash = ?", (hash_token(token),)
                )
                await revoke_token(tx, rows[0]["id"])
        finally:
            await ledger.close()

    asyncio.run(revoke())
    assert browser.get("/portal/sessions", follow_redirects=False).status_code == 303


def test_a_tampered_cookie_is_no_sign_in(app_client: TestClient, browser: Browser, jane: str):
    browser.sign_in(jane)
    value = app_client.cookies.get("certledger_portal", domain="portal.test", path="/portal")
    assert value
    app_client.cookies.set("certledger_portal", value[:-3] + "AAA", domain="portal.test", path="/portal")
    assert browser.get("/portal/sessions", follow_redirects=False).status_code == 303


# --- CSRF -------------------------------------------------------------------------------------------


def test_a_post_without_the_forms_csrf_field_is_refused_and_changes_nothing(
    browser: Browser, app_client: TestClient, api: Service, jane: str
):
    browser.sign_in(jane)
    form = {"date": RECENT.isoformat(), "duration_minutes": "90", "facilitators": "Jane Doe", "level": "hub"}
    response = app_client.post("/portal/sessions", data=form)
    assert response.status_code == 403
    page = assert_accessible(response)
    assert "could not be accepted" in page.text and "Nothing was changed" in page.text
    forged = app_client.post("/portal/sessions", data={**form, "csrf_token": "guessed"})
    assert forged.status_code == 403
    cross_site = app_client.post(
        "/portal/sessions",
        data={**form, "csrf_token": browser.csrf()},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert cross_site.status_code == 403
    assert api.admin.get("/api/v1/sessions").json()["sessions"] == []


def test_another_browsers_csrf_field_does_not_pass(browser: Browser, settings: Settings, jane: str):
    browser.sign_in(jane)
    with other_browser(settings) as other_client:
        other = Browser(other_client)
        other.sign_in(jane)
        stolen = other.csrf()
    response = browser.client.post(
        "/portal/sessions",
        data={"csrf_token": stolen, "date": RECENT.isoformat(), "duration_minutes": "90"},
    )
    assert response.status_code == 403


def test_the_sign_in_form_has_csrf_protection_too(app_client: TestClient, jane: str):
    response = app_client.post("/portal/sign-in", data={"token": jane})
    assert response.status_code == 403
    assert app_client.get("/portal/sessions", follow_redirects=False).status_code == 303


# --- registering sessions ---------------------------------------------------------------------------


def test_register_a_session_through_the_same_rules_as_the_api(browser: Browser, jane: str):
    browser.sign_in(jane)
    new = assert_accessible(browser.get("/portal/sessions/new"))
    assert new.input_named("timezone")["value"] == "America/New_York"
    assert "Jane Doe" in browser.last.text  # the facilitator's own name is proposed
    session_id = browser.register(facilitators="Jane Doe\nSam Lee", organization="County Health")
    page = assert_accessible(browser.last)
    assert "The session is registered" in page.text
    stored = Caller(browser.client, jane).get(f"/api/v1/sessions/{session_id}").json()
    assert stored["facilitators"] == ["Jane Doe", "Sam Lee"]
    assert stored["organization"] == "County Health" and stored["level"] == "central"
    assert stored["start_time"] == "18:00" and stored["duration_minutes"] == 90
    listing = browser.get("/portal/sessions").text
    assert f"/portal/sessions/{session_id}" in listing and "not submitted yet" in listing


def test_register_form_errors_are_beside_each_field_in_words(browser: Browser, api: Service, jane: str):
    browser.sign_in(jane)
    browser.get("/portal/sessions/new")
    response = browser.post(
        "/portal/sessions",
        {
            "date": "2026-02-30",
            "start_time": "25:00",
            "timezone": "Mars/Olympus_Mons",
            "duration_minutes": "20",
            "facilitators": "",
            "level": "",
            "title": "Reflection",
        },
    )
    assert response.status_code == 422
    page = assert_accessible(response)
    assert "real calendar date" in page.error_for("date")
    assert "like 18:00" in page.error_for("start_time")
    assert "from 30 to 240" in page.error_for("duration_minutes")
    assert "at least one facilitator" in page.error_for("facilitators")
    assert page.input_named("title")["value"] == "Reflection"  # what was typed is kept
    assert "There are" in page.text and 'href="#date"' in response.text  # the summary links to fields
    assert "{" not in page.text and "Traceback" not in response.text
    fixed = browser.post(
        "/portal/sessions",
        {
            "date": "2026-03-04",
            "start_time": "18:00",
            "duration_minutes": "90",
            "facilitators": "Jane Doe",
            "level": "hub",
            "timezone": "Mars/Olympus_Mons",
        },
    )
    assert fixed.status_code == 422
    assert "America/New_York" in Page(fixed.text).error_for("timezone")  # the API's own check, in words
    assert api.admin.get("/api/v1/sessions").json()["sessions"] == []


def test_a_level_the_token_lacks_is_refused_beside_the_level(browser: Browser, settings: Settings):
    browser.sign_in(make_token(settings, "facilitator", "Hub Helper", ("hub",)))
    form_page = browser.get("/portal/sessions/new")
    assert 'value="central"' not in form_page.text  # only the levels granted are offered
    response = browser.post(
        "/portal/sessions",
        {
            "date": "2026-03-04",
            "start_time": "18:00",
            "duration_minutes": "90",
            "facilitators": "Hub Helper",
            "level": "central",
        },
    )
    assert response.status_code == 422
    assert "may not register IPS Central-level" in Page(response.text).ids["level-group-error"]


def test_the_portal_asks_for_the_start_time_the_api_may_leave_out(browser: Browser, api: Service, jane: str):
    """Without it an attendance report can only guess when the session began (SPEC keeps it optional in
    the API; the portal's facilitator knows it)."""
    browser.sign_in(jane)
    form = assert_accessible(browser.get("/portal/sessions/new"))
    assert form.labels["start_time"] == "Start time"
    response = browser.post(
        "/portal/sessions",
        {"date": "2026-03-04", "duration_minutes": "90", "facilitators": "Jane Doe", "level": "hub"},
    )
    assert response.status_code == 422
    assert "Enter the start time, like 18:00" in Page(response.text).error_for("start_time")
    assert api.admin.get("/api/v1/sessions").json()["sessions"] == []


# --- ownership --------------------------------------------------------------------------------------


def test_another_facilitators_session_is_a_404_page_on_every_route_with_its_id(
    browser: Browser, api: Service, jane: str, settings: Settings
):
    """Each route that names a session checks whose it is: removing the check from any one fails here."""
    session = api.session(Caller(browser.client, jane), date="2026-03-04", title="Jane's private session")
    api.attendees(session["id"], [attendee("Ana Ruiz", "ana@example.org")])
    sid = session["id"]
    browser.sign_in(make_token(settings, "facilitator", "Sam Lee", ("central", "hub")))
    answers = {
        "page": browser.get(f"/portal/sessions/{sid}"),
        "version": browser.get(f"/portal/sessions/{sid}?version=1"),
        "review": browser.get(f"/portal/sessions/{sid}/review"),
    }
    browser.get("/portal/sessions")
    token = browser.csrf()
    answers["report"] = browser.client.post(
        f"/portal/sessions/{sid}/report",
        data={"csrf_token": token},
        files={"report": ("participants.csv", zoom_report(), "text/csv")},
    )
    answers["typed"] = browser.client.post(
        f"/portal/sessions/{sid}/typed", data={"csrf_token": token, "typed": "Eve Ng, eve@example.org"}
    )
    answers["attendees"] = browser.client.post(
        f"/portal/sessions/{sid}/attendees",
        data={
            "csrf_token": token,
            "row_count": "1",
            "rows-0-name": "Eve",
            "rows-0-email": "eve@example.org",
            "rows-0-core_trained": "yes",
            "rows-0-full_participation": "yes",
            "action": "submit",
        },
    )
    for route, response in answers.items():
        assert response.status_code == 404, route
        assert "nothing here that you can see" in assert_accessible(response).text, route
        assert "Jane&#39;s private session" not in response.text and "ana@example.org" not in response.text
        assert "priya@example.in" not in response.text and "Review the attendee list" not in response.text
    stored = api.admin.get(f"/api/v1/sessions/{sid}/attendees").json()
    assert stored["version"] == 1 and [a["email"] for a in stored["attendees"]] == ["ana@example.org"]
    assert sid not in browser.get("/portal/sessions").text


def test_unknown_portal_addresses_are_pages_in_words(browser: Browser):
    response = browser.get("/portal/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert browser.get("/api/v1/nothing").headers["content-type"] == "application/problem+json"


# --- from an export to a stored list ------------------------------------------------------------------


def upload(
    browser: Browser, session_id: str, data: bytes, filename: str = "participants.csv"
) -> httpx.Response:
    browser.get(f"/portal/sessions/{session_id}")
    return browser.client.post(
        f"/portal/sessions/{session_id}/report",
        data={"csrf_token": browser.csrf()},
        files={"report": (filename, data, "text/csv")},
    )


def test_upload_proposes_a_review_table_and_stores_nothing(browser: Browser, api: Service, jane: str):
    browser.sign_in(jane)
    session_id = browser.register(date="2026-03-04")
    response = upload(browser, session_id, zoom_report())
    assert response.status_code == 200, response.text
    page = assert_accessible(response)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", response.text, re.S)
    priya = next(r for r in rows if "priya@example.in" in r)
    kai = next(r for r in rows if "kai.becker@example.de" in r)
    assert re.search(r'class="number late">24 min', priya) and "late" in priya
    assert re.search(r'class="number early">34 min', kai) and "early" in kai
    assert 'full_participation" value="yes" checked' not in priya  # late: not in full
    assert "Tom&#39;s iPhone" in response.text or "Tom's iPhone" in page.text  # left out, with why
    assert "jane.doe@ipscentral.test" not in response.text  # the facilitator is not an attendee
    assert api.admin.get(f"/api/v1/sessions/{session_id}").json()["list_version"] is None


def test_the_full_participation_box_is_read_with_the_numbers_and_notes_behind_it(browser: Browser, jane: str):
    """A screen reader reads, with each person's box, their name (not a row number), how late and how early
    they were and the notes."""
    browser.sign_in(jane)
    session_id = browser.register(date="2026-03-04")
    response = upload(browser, session_id, zoom_report())
    page = assert_accessible(response)
    form = review_form(response)
    row = next(k.removesuffix("email") for k, v in form.items() if v == "priya@example.in")
    box = page.input_named(row + "full_participation")
    described = [page.ids[i] for i in (box.get("aria-describedby") or "").split()]
    assert described == [
        "Joined late",
        "24 min",
        "Left early",
        "0 min",
        "Notes",
        "joined 24 min late (more than 15 min)",
    ]
    assert page.labels[row + "full_participation"] == "Full participation, Priya Raman"
    assert page.labels[row + "core_trained"] == "Core trained, Priya Raman"
    assert page.labels[row + "email"] == "Email, Priya Raman"
    assert "row" not in page.labels[row + "full_participation"].lower()
    assert page.labels["rows-5-name"] == "Name, new row 6"  # the blank rows at the end


def test_lateness_is_highlighted_by_the_rules_seconds_not_the_whole_minutes(browser: Browser, jane: str):
    """Kai joined 15 min 1 s late (over the limit), Zoë exactly 15 min: both show 15 min."""
    browser.sign_in(jane)
    session_id = browser.register(date="2026-03-04")
    response = upload(browser, session_id, (REPORTS / "zoom-excel-semicolon-cp1252.csv").read_bytes())
    assert response.status_code == 200
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", response.text, re.S)
    kai = next(r for r in rows if "kai.becker@example.de" in r)
    zoe = next(r for r in rows if "zoe.mueller@example.de" in r)
    assert re.search(r'class="number late">15 min', kai)
    assert re.search(r'class="number">15 min', zoe)
    # Sent back with an error elsewhere, the table keeps the highlight.
    form = review_form(response)
    form.update({"rows-0-email": "not an email", "action": "submit"})
    again = browser.post(f"/portal/sessions/{session_id}/attendees", form)
    assert again.status_code == 422
    kai = next(
        r for r in re.findall(r"<tr[^>]*>(.*?)</tr>", again.text, re.S) if "kai.becker@example.de" in r
    )
    assert re.search(r'class="number late">15 min', kai)


def test_notes_about_the_report_are_shown_above_the_table(browser: Browser, api: Service, jane: str):
    """A session registered through the API without a start time: the review says where the start came
    from, and keeps saying it when the form comes back with an error."""
    session = api.session(Caller(browser.client, jane), date="2026-03-04", start_time=None)
    browser.sign_in(jane)
    response = upload(browser, session["id"], zoom_report())
    page = assert_accessible(response)
    notes = page.ids["report-notes-title"]
    assert notes == "About this report"
    assert "no registered start time: the report's meeting start, 18:00, is taken as its start" in page.text
    form = review_form(response)
    form.update({"rows-0-email": "not an email", "action": "submit"})
    again = browser.post(f"/portal/sessions/{session['id']}/attendees", form)
    assert again.status_code == 422 and "the report's meeting start, 18:00, is taken" in Page(again.text).text


def test_the_portal_reads_reports_as_large_as_the_api_does(browser: Browser, jane: str):
    """5 MB, as POST .../attendance-report: a long meeting's 3 MB export is read, not refused as too large."""
    browser.sign_in(jane)
    session_id = browser.register(date="2026-03-04")
    row = b"Aroha Ngata,aroha@example.nz,03/04/2026 06:00:00 PM,03/04/2026 07:30:00 PM,90,Yes,No\n"
    large = zoom_report() + row * 40_000
    assert 3 * 1024 * 1024 < len(large) < 5 * 1024 * 1024
    response = upload(browser, session_id, large)
    assert response.status_code == 200, response.text[:500]
    assert "priya@example.in" in response.text
    too_large = upload(browser, session_id, zoom_report() + row * 62_000)
    assert too_large.status_code == 413 and "5 MB" in Page(too_large.text).text


def test_a_file_that_is_no_report_is_an_error_beside_the_file_field(browser: Browser, jane: str):
    browser.sign_in(jane)
    session_id = browser.register()
    response = upload(browser, session_id, b"just,some\ncsv,cells\n")
    assert response.status_code == 422
    page = assert_accessible(response)
    # One plain sentence beside the field, where to download the report, and the columns folded away.
    error = page.error_for("report")
    assert error == "Error: This file is not an attendance report from Zoom or Microsoft Teams."
    described = (page.input_named("report").get("aria-describedby") or "").split()
    assert described == ["report-hint", "report-error", "report-help"]
    assert "Reports → Usage → Participants → Export" in page.ids["report-help"]
    assert "meeting's chat → Attendance → Download" in page.ids["report-help"]
    details = re.search(
        r"<details[^>]*>\s*<summary>What the file must contain</summary>(.*?)</details>", response.text, re.S
    )
    assert details and "Zoom participant report" in details.group(1) and "UTF-16" in details.group(1)
    browser.get(f"/portal/sessions/{session_id}")
    empty = browser.client.post(
        f"/portal/sessions/{session_id}/report",
        data={"csrf_token": browser.csrf()},
        files={"report": ("empty.csv", b"", "text/csv")},
    )
    assert empty.status_code == 422 and "Choose the attendance report" in Page(empty.text).error_for("report")


def test_review_then_submit_stores_the_edited_list_as_a_version(browser: Browser, api: Service, jane: str):
    browser.sign_in(jane)
    session_id = browser.register(date="2026-03-04")
    review = upload(browser, session_id, zoom_report())
    form = review_form(review)
    by_email = {form[k]: k.removesuffix("email") for k in form if k.endswith("-email") and form[k]}
    for prefix in by_email.values():
        form[prefix + "core_trained"] = "yes"
    form.pop(by_email["aroha@example.nz"] + "full_participation", None)  # the facilitator knows better
    form[by_email["miguel.torres@example.com"] + "name"] = "Miguel Ángel Torres"
    last_blank = f"rows-{int(form['row_count']) - 1}-"
    form[last_blank + "name"], form[last_blank + "email"] = "Tom Okafor", "tom@example.org"
    form[last_blank + "full_participation"] = "yes"
    form[last_blank + "core_trained"] = "yes"
    form["action"] = "submit"
    response = browser.post(f"/portal/sessions/{session_id}/attendees", form)
    assert response.status_code == 200 and response.url.path == f"/portal/sessions/{session_id}"
    page = assert_accessible(response)
    assert "Version 1 of the list is submitted: 5 attendees, 2 eligible" in page.text
    stored = api.admin.get(f"/api/v1/sessions/{session_id}/attendees").json()
    assert stored["version"] == 1
    rows = {a["email"]: a for a in stored["attendees"]}
    assert set(rows) == {
        "aroha@example.nz",
        "miguel.torres@example.com",
        "priya@example.in",
        "kai.becker@example.de",
        "tom@example.org",
    }
    assert all(a["core_trained"] for a in rows.values())
    assert not rows["aroha@example.nz"]["full_participation"]
    assert rows["miguel.torres@example.com"]["full_participation"]
    assert not rows["priya@example.in"]["full_participation"]
    assert rows["miguel.torres@example.com"]["name"] == "Miguel Ángel Torres"


def test_review_errors_are_on_the_row_and_nothing_is_stored(browser: Browser, api: Service, jane: str):
    browser.sign_in(jane)
    session_id = browser.register()
    browser.get(f"/portal/sessions/{session_id}")
    form = {
        "row_count": "4",
        "rows-0-name": "Ana Ruiz",
        "rows-0-email": "ana@example.org",
        "rows-0-core_trained": "yes",
        "rows-1-name": "",
        "rows-1-email": "bo@example.org",
        "rows-2-name": "Cy Twin",
        "rows-2-email": "not an email",
        "rows-3-name": "Ana Again",
        "rows-3-email": "ANA@example.org",
        "rows-3-minutes_present": "88",
        "rows-3-notes": "joined 2 min late",
        "action": "submit",
    }
    response = browser.post(f"/portal/sessions/{session_id}/attendees", form)
    assert response.status_code == 422
    page = assert_accessible(response)
    assert "Enter the attendee's name" in page.error_for("rows-1-name")
    assert "email address like" in page.error_for("rows-2-email")
    assert page.input_named("rows-2-email")["value"] == "not an email"
    assert "joined 2 min late" in page.text  # the report's notes ride along
    form.update({"rows-1-name": "Bo Lind", "rows-2-email": "cy@example.org"})
    duplicate = browser.post(f"/portal/sessions/{session_id}/attendees", form)
    assert duplicate.status_code == 422
    assert "already on the list" in Page(duplicate.text).error_for("rows-3-email")
    assert api.admin.get(f"/api/v1/sessions/{session_id}").json()["list_version"] is None
    form["rows-3-omit"] = "yes"  # leave the duplicate out
    stored = browser.post(f"/portal/sessions/{session_id}/attendees", form)
    assert stored.status_code == 200
    assert api.admin.get(f"/api/v1/sessions/{session_id}/attendees").json()["attendees"][0]["core_trained"]


def test_more_rows_and_enter_never_store_anything(browser: Browser, api: Service, jane: str):
    browser.sign_in(jane)
    session_id = browser.register()
    browser.get(f"/portal/sessions/{session_id}")
    form = {
        "row_count": "1",
        "rows-0-name": "Ana Ruiz",
        "rows-0-email": "ana@example.org",
        "action": "more_rows",
    }
    response = browser.post(f"/portal/sessions/{session_id}/attendees", form)
    assert response.status_code == 200
    assert review_form(response)["row_count"] == "6"
    assert review_form(response)["rows-0-name"] == "Ana Ruiz"
    assert api.admin.get(f"/api/v1/sessions/{session_id}").json()["list_version"] is None
    first_button = re.search(r'<button type="submit" name="action" value="([a-z_]+)"', response.text)
    assert first_button and first_button.group(1) == "more_rows"  # what Enter in a box presses


@pytest.mark.parametrize(
    ("typed", "entries", "problems"),
    [
        (
            "Ana Ruiz, ana@example.org\n\nBo Lind,bo@example.org",
            [("Ana Ruiz", "ana@example.org"), ("Bo Lind", "bo@example.org")],
            0,
        ),
        ("Name\tEmail\nDoe, Jane\tjane@example.org\tyes", [("Doe, Jane", "jane@example.org")], 0),
        ("Doe, Jane, jane@example.org", [("Doe, Jane", "jane@example.org")], 0),
        ("ana@example.org, Ana Ruiz", [("Ana Ruiz", "ana@example.org")], 0),
        ('"Ruiz, Ana" <ana@example.org>', [("Ruiz, Ana", "ana@example.org")], 0),
        ("Ana Ruiz\nBo Lind, bo@example.org\nana@example.org", [("Bo Lind", "bo@example.org")], 2),
        ("Jane Doe jane@example.org", [("Jane Doe", "jane@example.org")], 0),
        ("Jane Doe; jane@example.org", [("Jane Doe", "jane@example.org")], 0),
        (
            "Jane Doe <jane@example.org>, Bob <bob@example.org>",
            [("Jane Doe", "jane@example.org"), ("Bob", "bob@example.org")],
            0,
        ),
        (
            "Jane Doe <jane@example.org>; Bo Lind <bo@example.org>",
            [("Jane Doe", "jane@example.org"), ("Bo Lind", "bo@example.org")],
            0,
        ),
        ("Doe, Jane <jane@example.org>", [("Doe, Jane", "jane@example.org")], 0),
        ("jane@example.org bob@example.org", [], 1),  # two people on a line: not guessed at
    ],
)
def test_typed_lists_are_read_one_attendee_a_line(typed, entries, problems):
    found, trouble = read_typed_list(typed)
    assert [(e.name, e.email) for e in found] == entries
    assert len(trouble) == problems
    assert all(re.match(r"Line \d+ ", t) for t in trouble)


def test_a_typed_list_goes_to_the_same_review(browser: Browser, api: Service, jane: str):
    browser.sign_in(jane)
    earlier = browser.register(date=(RECENT - dt.timedelta(days=7)).isoformat())
    api.attendees(earlier, [attendee("Ana Ruiz", "ana@example.org", core=True, full=True)])
    session_id = browser.register()
    browser.get(f"/portal/sessions/{session_id}")
    response = browser.post(
        f"/portal/sessions/{session_id}/typed",
        {"typed": "Ana Ruiz, ANA@example.org\nBo Lind\tbo@example.org", "all_full_participation": "yes"},
    )
    assert response.status_code == 200
    form = review_form(response)
    assert form["rows-0-core_trained"] == "yes"  # the ledger knows Ana as core-trained
    assert "rows-1-core_trained" not in form
    assert form["rows-0-full_participation"] == form["rows-1-full_participation"] == "yes"
    wrong = browser.post(f"/portal/sessions/{session_id}/typed", {"typed": "Ana Ruiz\n"})
    assert wrong.status_code == 422
    assert "Line 1 has no email" in Page(wrong.text).error_for("typed")
    assert Page(wrong.text).input_named("typed") is not None and "Ana Ruiz" in wrong.text


# --- statuses and versions --------------------------------------------------------------------------


def test_each_attendee_shows_where_their_certificate_stands(browser: Browser, api: Service, jane: str):
    browser.sign_in(jane)
    session_id = browser.register()
    assert api.ask(email="di@example.org")["outcome"] == "pending"
    waiting = browser.get(f"/portal/sessions/{session_id}")
    assert "Requests waiting for this list" in waiting.text
    assert "di@example.org: Pending (waiting for the attendee list)" in Page(waiting.text).text
    api.attendees(
        session_id,
        [
            attendee("Ana Ruiz", "ana@example.org"),
            attendee("Bo Lind", "bo@example.org", core=False),
            attendee("Cy Twin", "cy@example.org", full=False),
            attendee("Di Ode", "di@example.org"),
            attendee("Fay Lu", "fay@example.org"),
        ],
    )
    issued = api.ask(email="ana@example.org")
    refused = api.ask(email="bo@example.org")
    api.ask(email="eve@example.org")  # not on the list
    assert issued["outcome"] == "issued" and refused["outcome"] == "rejected"
    response = browser.get(f"/portal/sessions/{session_id}")
    page = assert_accessible(response)
    cells = re.findall(r"<tr>(.*?)</tr>", response.text, re.S)
    texts = [" ".join(re.sub(r"<[^>]+>", "", cell).split()) for cell in cells]
    rows = {text.split()[0]: text for text in texts if "@" in text}
    assert "Issued" in rows["Ana"] and issued["certificate"]["serial"] in rows["Ana"]
    assert issued["certificate"]["verify_url"] in response.text
    assert "Refused (not marked as core-trained)" in rows["Bo"]
    assert "Not eligible (not marked as taking part in full)" in rows["Cy"]
    assert "Issued on" in rows["Di"]  # the pending request was decided again when the list came
    assert "Eligible (not asked yet)" in rows["Fay"]
    assert "eve@example.org: Refused (not on the attendee list)" in page.text


def test_earlier_versions_stay_viewable(browser: Browser, api: Service, jane: str):
    browser.sign_in(jane)
    session_id = browser.register()
    api.attendees(session_id, [attendee("Ana Ruiz", "ana@example.org")])
    api.attendees(
        session_id, [attendee("Ana Ruiz", "ana@example.org"), attendee("Bo Lind", "bo@example.org")]
    )
    Caller(browser.client, jane).put(
        f"/api/v1/sessions/{session_id}/attendees",
        json={"attendees": [attendee("Ana Ruiz", "ana@example.org"), attendee("Bo Lind", "bo@example.org")]},
    ).raise_for_status()
    latest = browser.get(f"/portal/sessions/{session_id}")
    assert "Version 3 (the latest)" in latest.text and "bo@example.org" in latest.text
    # Who submitted each version, in words.
    listed = Page(latest.text).text
    assert re.search(r"Version 3 \(the latest\), submitted [0-9-]+ [0-9:]+ UTC by Jane Doe\.", listed)
    assert re.search(r"Version 1: 1 attendee, 1 eligible, submitted [0-9-]+ [0-9:]+ UTC by staff", listed)
    first = browser.get(f"/portal/sessions/{session_id}?version=1")
    assert first.status_code == 200
    assert "Version 1 (an earlier version" in first.text and "bo@example.org" not in first.text
    assert browser.get(f"/portal/sessions/{session_id}?version=4").status_code == 404
    assert browser.get(f"/portal/sessions/{session_id}?version=x").status_code == 404
    correct = browser.get(f"/portal/sessions/{session_id}/review")
    assert review_form(correct)["rows-1-email"] == "bo@example.org"
    assert "Submit as version 4" in correct.text


# --- staff ------------------------------------------------------------------------------------------


def test_staff_pages_are_for_admin_tokens_only(browser: Browser, jane: str):
    browser.sign_in(jane)
    for path in ("/portal/staff/people", "/portal/staff/requests", "/portal/staff/export"):
        response = browser.get(path)
        assert response.status_code == 403 and "For staff only" in response.text
    assert "Find a person" not in browser.get("/portal/sessions").text


def test_a_facilitator_can_neither_download_a_stored_pdf_nor_revoke(
    browser: Browser, api: Service, jane: str
):
    """The staff guard of the PDF and revoke routes: with a real serial, so that without the guard the
    PDF would come back and the certificate would be revoked."""
    session = api.session(Caller(browser.client, jane))
    api.attendees(session["id"], [attendee("Ana Ruiz", "ana@example.org")])
    issued = api.ask(email="ana@example.org")["certificate"]
    browser.sign_in(jane)
    pdf = browser.get(f"/portal/staff/certificates/{issued['serial']}/pdf")
    assert pdf.status_code == 403 and "For staff only" in pdf.text
    assert not pdf.content.startswith(b"%PDF") and pdf.headers["content-type"].startswith("text/html")
    browser.get("/portal/sessions")
    revoke = browser.post(
        f"/portal/staff/certificates/{issued['serial']}/revoke",
        {"email": "ana@example.org", "reason": "A facilitator tried"},
    )
    assert revoke.status_code == 403 and "For staff only" in revoke.text
    assert api.verify(issued["verify_url"]).json()["status"] == "valid"


def test_staff_see_every_session_and_filter_them(
    browser: Browser, api: Service, jane: str, settings: Settings
):
    mine = api.session(Caller(browser.client, jane), organization="County Health", date="2026-03-04")
    other = api.session(organization="Hub North", date="2026-04-10", level="hub")
    browser.sign_in(ADMIN_TOKEN)
    everything = browser.get("/portal/sessions").text
    assert mine["id"] in everything and other["id"] in everything
    assert everything.index(other["id"]) < everything.index(mine["id"])  # newest first
    county = browser.get("/portal/sessions", params={"organization": "county health"}).text
    assert mine["id"] in county and other["id"] not in county
    april = browser.get("/portal/sessions", params={"from": "2026-04-01", "to": "2026-04-30"}).text
    assert other["id"] in april and mine["id"] not in april
    wrong = browser.get("/portal/sessions", params={"from": "April"})
    assert "Enter a date like" in Page(wrong.text).error_for("from")


def test_staff_find_a_person_and_revoke_with_a_reason(browser: Browser, api: Service):
    session = api.session()
    api.attendees(session["id"], [attendee("Ana Ruiz", "ana@example.org")])
    issued = api.ask(email="ana@example.org")["certificate"]
    api.attendees(session["id"], [attendee("Ana Ruiz", "ana@example.org", full=False)])  # review flag
    browser.sign_in(ADMIN_TOKEN)
    response = browser.get("/portal/staff/people", params={"email": " Ana@Example.org "})
    page = assert_accessible(response)
    assert issued["serial"] in page.text and issued["verify_url"] in response.text
    assert "Needs review" in page.text and "Issued" in page.text
    assert "Issued (UTC)" in page.text and "Asked (UTC)" in page.text  # staff times are labelled
    assert f"/portal/staff/certificates/{issued['serial']}/pdf" in response.text
    pdf = browser.get(f"/portal/staff/certificates/{issued['serial']}/pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")

    blank = browser.post(
        f"/portal/staff/certificates/{issued['serial']}/revoke", {"email": "ana@example.org", "reason": " "}
    )
    assert blank.status_code == 422
    assert "Say why" in Page(blank.text).error_for("reason")
    assert api.verify(issued["verify_url"]).json()["status"] == "valid"
    done = browser.post(
        f"/portal/staff/certificates/{issued['serial']}/revoke",
        {"email": "ana@example.org", "reason": "Attended only the opening round"},
    )
    assert done.status_code == 200 and f"Certificate {issued['serial']} is revoked" in done.text
    verified = api.verify(issued["verify_url"]).json()
    assert (
        verified["status"] == "revoked" and verified["revocation_reason"] == "Attended only the opening round"
    )
    bad = browser.get("/portal/staff/people", params={"email": "not-an-email"})
    assert bad.status_code == 400 and "like name@example.org" in Page(bad.text).error_for("email")


def test_staff_see_pending_and_refused_requests(browser: Browser, api: Service):
    pending = api.ask(email="early@example.org", date=(dt.date.today() - dt.timedelta(days=2)).isoformat())
    session = api.session()
    api.attendees(session["id"], [attendee("Ana Ruiz", "ana@example.org", core=False)])
    refused = api.ask(email="ana@example.org")
    assert pending["outcome"] == "pending" and refused["outcome"] == "rejected"
    browser.sign_in(ADMIN_TOKEN)
    waiting = assert_accessible(browser.get("/portal/staff/requests"))
    assert "early@example.org" in waiting.text and "ana@example.org" not in waiting.text
    assert "no registered session matched" in waiting.text
    turned_down = browser.get("/portal/staff/requests", params={"outcome": "rejected"}).text
    assert "ana@example.org" in turned_down and "not marked as core-trained" in turned_down


def test_staff_export_is_a_csv_of_attendance_and_certificates(browser: Browser, api: Service):
    county = api.session(organization="County Health", date=RECENT.isoformat())
    api.attendees(
        county["id"],
        [
            attendee("Ana Ruiz", "ana@example.org"),
            attendee("=HYPERLINK(1)", "x@example.org", core=False),
            attendee("Nguyễn Thị Minh", "minh@example.org"),
        ],
    )
    other = api.session(
        organization="Hub North", date=RECENT.isoformat(), level="hub", facilitators=["Sam Lee"]
    )
    api.attendees(other["id"], [attendee("Bo Lind", "bo@example.org")])
    issued = api.ask(email="ana@example.org")["certificate"]
    browser.sign_in(ADMIN_TOKEN)
    form = assert_accessible(browser.get("/portal/staff/export"))
    assert 'value="County Health"' in browser.last.text  # known organizations are suggested
    assert form.input_named("organization")
    period = {"from": (RECENT - dt.timedelta(days=1)).isoformat(), "to": RECENT.isoformat()}
    response = browser.get("/portal/staff/export", params={"organization": "county health", **period})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="attendance-county-health-{period["from"]}-{period["to"]}.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["email"] for r in rows] == ["ana@example.org", "x@example.org", "minh@example.org"]
    ana = rows[0]
    assert ana["certificate_serial"] == issued["serial"] and ana["certificate_status"] == "valid"
    assert ana["verify_url"] == issued["verify_url"] and ana["issued_at"]
    assert ana["core_trained"] == ana["full_participation"] == "yes" and ana["list_version"] == "1"
    assert ana["facilitators"] == "Jane Doe" and ana["organization"] == "County Health"
    assert rows[1]["attendee_name"] == "'=HYPERLINK(1)" and rows[1]["certificate_serial"] == ""
    assert rows[2]["attendee_name"] == "Nguyễn Thị Minh"
    missing = browser.get(
        "/portal/staff/export", params={"organization": "County Health", "from": "2026-13-01"}
    )
    assert missing.status_code == 400
    page = Page(missing.text)
    assert "Enter a date like" in page.error_for("from") and "last session date" in page.error_for("to")


# --- hostile input ----------------------------------------------------------------------------------


def test_hostile_forms_get_pages_in_words_never_a_500(browser: Browser, api: Service, jane: str):
    browser.sign_in(jane)
    session_id = browser.register()
    browser.get(f"/portal/sessions/{session_id}")
    token = browser.csrf()
    client = browser.client
    answers = [
        client.post("/portal/sessions", data={"csrf_token": token, "date": "\x00", "facilitators": "a\x00b"}),
        client.post(
            "/portal/sessions", data={"csrf_token": token, "duration_minutes": "9" * 400, "level": "x" * 5000}
        ),
        client.post(
            f"/portal/sessions/{session_id}/attendees",
            data={
                "csrf_token": token,
                "row_count": "99999999",
                "rows-0-name": "\u202e\u0007",
                "rows-0-email": "@",
            },
        ),
        client.post(
            f"/portal/sessions/{session_id}/attendees",
            content=b"csrf_token="
            + token.encode()
            + b"&row_count=1&rows-0-name=%FF%FE&rows-0-email=a%00@b.org",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        client.post(
            f"/portal/sessions/{session_id}/report",
            data={"csrf_token": token},
            files={"report": ("big.csv", b"x" * (6 * 1024 * 1024), "text/csv")},
        ),
        client.post(
            f"/portal/sessions/{session_id}/report",
            data={"csrf_token": token},
            files={"report": ("bin.csv", bytes(range(256)) * 50, "application/octet-stream")},
        ),
        client.post(
            f"/portal/sessions/{session_id}/typed",
            data={"csrf_token": token, "typed": "\n".join(["a"] * 6000)},
        ),
        client.post("/portal/sign-in", data={"csrf_token": token, "token": "\x00" * 10}),
        client.get(
            "/portal/sessions", params={"from": "\x00", "to": "9999-99-99", "organization": "x" * 5000}
        ),
        client.get(f"/portal/sessions/{session_id}", params={"version": "9" * 40}),
        client.post(
            "/portal/sessions",
            content=b"--x\r\nContent-Disposition: form-data; name=csrf_token\r\n\r\n" + token.encode(),
            headers={"Content-Type": "multipart/form-data; boundary=x"},
        ),
    ]
    for answer in answers:
        assert 400 <= answer.status_code < 500, (answer.request.url, answer.status_code, answer.text[:300])
        assert answer.headers["content-type"].startswith("text/html"), answer.request.url
        assert "Traceback" not in answer.text
    assert answers[4].status_code == 413 and "at most 5 MB" in answers[4].text
    assert api.admin.get(f"/api/v1/sessions/{session_id}").json()["list_version"] is None
