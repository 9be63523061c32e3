"""The portal in a real Chromium (Debian's /usr/bin/chromium driven by Playwright) against the real server
on a socket: a facilitator goes from a Zoom export to a submitted list and sees a certificate issued through
the API show up; staff find a person by email; the pages hold at phone width and with a keyboard alone.

Screenshots of every page land in tests/artifacts/portal/ (gitignored) for people to look at. Without
Chromium or Playwright these tests skip, except under CI=true, where they fail: CI must run them.
"""

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import ADMIN_TOKEN, ROOT, LiveServer, unavailable

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "tests" / "artifacts" / "portal"
ZOOM_REPORT = ROOT / "tests" / "data" / "reports" / "zoom-participants.csv"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (Debian package chromium; scripts/test.sh installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (the test extras: pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if (missing := _missing()) is not None:
        unavailable(f"the browser tests must run in CI: {missing}")
    from playwright.sync_api import sync_playwright

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[LiveServer]:
    live = LiveServer(env)
    try:
        yield live
    finally:
        live.stop()


def issue_token(env: dict[str, str], role: str, name: str, *levels: str) -> str:
    """As staff do, with the CLI (Playwright's sync API holds this thread's event loop)."""
    flags = [arg for level in levels for arg in ("--level", level)]
    done = subprocess.run(
        [sys.executable, "-m", "service", "token", "create", "--role", role, "--name", name, *flags],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def no_sideways_scrolling(page: Any) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def sign_in_with_the_keyboard(page: Any, base_url: str, token: str, screenshot: str | None = None) -> None:
    """Tab from the top of the page: the skip link first, then the portal's name, then the token field."""
    page.goto(f"{base_url}/portal/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    assert page.locator(".skip-link").bounding_box()["y"] >= 0  # it shows itself when focused
    if screenshot:
        shot(page, f"{screenshot}-skip-link-focused")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "token"
    page.keyboard.type(token)
    if screenshot:
        shot(page, f"{screenshot}-token-focused")
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal/sessions")


def create_session(server: LiveServer, token: str, **extra: str) -> dict[str, Any]:
    """Jane Doe's central session of 4 March 2026, created over the API."""
    created = httpx.post(
        f"{server.url}/api/v1/sessions",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "date": "2026-03-04",
            "start_time": "18:00",
            "duration_minutes": 90,
            "facilitators": ["Jane Doe"],
            "level": "central",
            **extra,
        },
        timeout=30,
    )
    assert created.status_code == 201, created.text
    return created.json()


def row_with(page: Any, email: str) -> Any:
    return page.locator("tr", has=page.locator(f'input[value="{email}"]'))


def test_from_a_zoom_export_to_a_certificate_in_chromium(
    chromium: Any, server: LiveServer, env: dict[str, str]
):
    jane = issue_token(env, "facilitator", "Jane Doe", "central")
    intake = issue_token(env, "intake", "intake")
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        page.goto(f"{server.url}/portal/")
        shot(page, "01-sign-in")
        sign_in_with_the_keyboard(page, server.url, jane, screenshot="01")
        cookie = next(c for c in context.cookies() if c["name"] == "certledger_portal")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and jane not in cookie["value"]
        assert page.get_by_text("Signed in as Jane Doe").is_visible()
        shot(page, "02-sessions-empty")

        page.get_by_role("link", name="Register a session").first.click()
        page.wait_for_url("**/portal/sessions/new")
        page.get_by_label("Date", exact=True).fill("2026-03-04")
        page.get_by_label("Start time", exact=True).fill("18:00")
        assert page.get_by_label("Time zone").input_value() == "America/New_York"
        assert page.get_by_label("Length in minutes").input_value() == "90"
        assert page.get_by_label("Facilitators").input_value() == "Jane Doe"
        assert page.get_by_label("IPS Central").is_checked()  # the token's only level
        shot(page, "03-register-session")
        page.get_by_role("button", name="Register the session").click()
        page.wait_for_url("**/portal/sessions/ses_*")
        assert page.get_by_text("The session is registered").is_visible()
        session_url = page.url.split("?")[0]
        shot(page, "04-session-registered")

        page.get_by_label("Attendance report file").set_input_files(str(ZOOM_REPORT))
        page.get_by_role("button", name="Read the report").click()
        page.wait_for_selector("h1:has-text('Review the attendee list')")
        priya, kai = row_with(page, "priya@example.in"), row_with(page, "kai.becker@example.de")
        assert priya.locator("td.late").inner_text() == "24 min"
        assert "late" in priya.locator("td.notes").inner_text()
        assert not priya.get_by_label("Full participation").is_checked()
        assert kai.locator("td.early").inner_text() == "34 min"
        assert "early" in kai.locator("td.notes").inner_text()
        assert page.get_by_text("Tom's iPhone").is_visible()  # left out, with the reason
        shot(page, "05-review-proposed")

        proposed = [
            "aroha@example.nz",
            "miguel.torres@example.com",
            "priya@example.in",
            "kai.becker@example.de",
        ]
        for email in proposed:
            row_with(page, email).get_by_label("Core trained").check()
        aroha = row_with(page, "aroha@example.nz")
        assert aroha.get_by_label("Full participation").is_checked()
        aroha.get_by_label("Full participation").uncheck()
        shot(page, "06-review-edited")
        page.get_by_role("button", name="Submit as version 1").click()
        page.wait_for_url(f"{session_url}?submitted=1")
        assert page.get_by_text("Version 1 of the list is submitted: 4 attendees, 1 eligible").is_visible()
        assert page.get_by_text("Version 1 (the latest)").is_visible()
        shot(page, "07-session-version-1")

        asked = httpx.post(
            f"{server.url}/api/v1/certificate-requests",
            headers={"Authorization": f"Bearer {intake}"},
            json={"email": "miguel.torres@example.com", "date": "2026-03-04", "facilitator": "Jane Doe"},
            timeout=30,
        ).json()
        assert asked["outcome"] == "issued", asked
        serial = asked["certificate"]["serial"]
        page.reload(wait_until="load")
        miguel = page.locator("tr", has=page.get_by_text("miguel.torres@example.com"))
        assert "Issued" in miguel.inner_text() and serial in miguel.inner_text()
        assert (
            miguel.get_by_role("link", name="verify").get_attribute("href")
            == asked["certificate"]["verify_url"]
        )
        aroha_status = page.locator("tr", has=page.get_by_text("aroha@example.nz")).inner_text()
        assert "Not eligible" in aroha_status
        shot(page, "08-session-certificate-issued")
    finally:
        context.close()

    phone = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = phone.new_page()
    try:
        sign_in_with_the_keyboard(page, server.url, jane)
        no_sideways_scrolling(page)
        shot(page, "09-phone-sessions")
        page.goto(session_url)
        no_sideways_scrolling(page)
        assert page.get_by_text(serial).is_visible()
        shot(page, "10-phone-session")
        page.get_by_role("link", name="Correct this list").click()
        page.wait_for_url("**/review")
        no_sideways_scrolling(page)
        assert page.get_by_label("Email, Aroha Ngata").is_visible()  # each box says whose it is on a phone
        shot(page, "11-phone-review")
        # The review of an uploaded report at phone width: the numbers and notes behind each tick.
        page.goto(session_url)
        page.get_by_label("Attendance report file").set_input_files(str(ZOOM_REPORT))
        page.get_by_role("button", name="Read the report").click()
        page.wait_for_selector("h1:has-text('Review the attendee list')")
        no_sideways_scrolling(page)
        priya = row_with(page, "priya@example.in")
        assert priya.locator("td.late").is_visible() and priya.locator("td.late").inner_text() == "24 min"
        assert priya.get_by_label("Full participation").is_visible()
        shot(page, "11-phone-report-review")
        page.goto(f"{server.url}/portal/sessions/new")
        no_sideways_scrolling(page)
        page.get_by_role("button", name="Register the session").click()
        page.wait_for_url("**/portal/sessions")
        page.locator(".error-summary").wait_for()
        assert "Enter the date of the session." in page.locator("#date-error").inner_text()
        assert (
            page.get_by_label("Date", exact=True).get_attribute("aria-describedby") == "date-hint date-error"
        )
        shot(page, "12-phone-register-errors")
    finally:
        phone.close()


def focused(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => {
            const e = document.activeElement;
            const style = getComputedStyle(e);
            return {tag: e.tagName, id: e.id, type: e.type || "", text: (e.textContent || "").trim(),
                    outline: style.outlineStyle !== "none" && style.outlineWidth !== "0px"};
        }"""
    )


def tab_to(page: Any, wanted: Any, limit: int = 120) -> dict[str, Any]:
    """Press Tab until the focused element is the one wanted; each stop must show where the focus is."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if wanted(now):
            assert now["outline"], f"the focus on {now} cannot be seen"
            return now
    raise AssertionError(f"Tab never reached the element wanted; last: {focused(page)}")


def test_a_list_reviewed_and_submitted_with_the_keyboard_alone(
    chromium: Any, server: LiveServer, env: dict[str, str]
):
    """Sign in, type a list, review it (tick and untick with Space), and submit it: no mouse, no click.
    Enter in a box of the review adds rows and stores nothing; only the submit button stores."""
    jane = issue_token(env, "facilitator", "Jane Doe", "central")
    created = create_session(server, jane)
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        sign_in_with_the_keyboard(page, server.url, jane)
        tab_to(page, lambda e: e["tag"] == "A" and "2026-03-04" in e["text"])
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/portal/sessions/{created['id']}")

        tab_to(page, lambda e: e["id"] == "typed")
        page.keyboard.type("Ana Ruiz, ana@example.org\nBo Lind; bo@example.org\nCy Twin cy@example.org")
        tab_to(page, lambda e: e["id"] == "all_full_participation")
        page.keyboard.press("Space")
        tab_to(page, lambda e: e["tag"] == "BUTTON" and e["text"] == "Review this list")
        page.keyboard.press("Enter")
        page.wait_for_selector("h1:has-text('Review the attendee list')")
        shot(page, "17-keyboard-review")

        # Enter in a box adds rows; nothing is stored.
        tab_to(page, lambda e: e["id"] == "rows-0-name")
        page.keyboard.press("Enter")
        page.wait_for_selector("text=Submit as version 1")
        assert page.locator("table.review tbody tr").count() == 3 + 3 + 5

        tab_to(page, lambda e: e["id"] == "rows-0-core_trained")
        page.keyboard.press("Space")
        tab_to(page, lambda e: e["id"] == "rows-1-core_trained")
        page.keyboard.press("Space")
        tab_to(page, lambda e: e["id"] == "rows-1-full_participation")
        page.keyboard.press("Space")  # Bo left early: untick
        tab_to(page, lambda e: e["id"] == "rows-2-omit")
        page.keyboard.press("Space")  # Cy is left out
        shot(page, "18-keyboard-review-edited")
        tab_to(page, lambda e: e["tag"] == "BUTTON" and e["text"].startswith("Submit as version 1"))
        page.keyboard.press("Enter")
        page.wait_for_url("**?submitted=1")
        assert page.get_by_text("Version 1 of the list is submitted: 2 attendees, 1 eligible").is_visible()
        shot(page, "19-keyboard-submitted")
    finally:
        context.close()
    stored = httpx.get(
        f"{server.url}/api/v1/sessions/{created['id']}/attendees",
        headers={"Authorization": f"Bearer {jane}"},
        timeout=30,
    ).json()
    assert [(a["name"], a["core_trained"], a["full_participation"]) for a in stored["attendees"]] == [
        ("Ana Ruiz", True, True),
        ("Bo Lind", True, False),
    ]


def test_staff_find_a_person_by_email_in_chromium(chromium: Any, server: LiveServer, env: dict[str, str]):
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    created = create_session(server, ADMIN_TOKEN, organization="County Health")
    httpx.put(
        f"{server.url}/api/v1/sessions/{created['id']}/attendees",
        headers=admin,
        json={
            "attendees": [
                {
                    "name": "Nguyễn Thị Minh",
                    "email": "minh@example.org",
                    "core_trained": True,
                    "full_participation": True,
                }
            ]
        },
        timeout=30,
    ).raise_for_status()
    issued = httpx.post(
        f"{server.url}/api/v1/certificate-requests",
        headers=admin,
        json={"email": "minh@example.org", "date": "2026-03-04", "facilitator": "Jane"},
        timeout=30,
    ).json()["certificate"]
    waiting = httpx.post(
        f"{server.url}/api/v1/certificate-requests",
        headers=admin,
        json={"email": "early@example.org", "date": (dt.date.today() - dt.timedelta(days=1)).isoformat()},
        timeout=30,
    ).json()
    assert waiting["outcome"] == "pending"

    context = chromium.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    try:
        sign_in_with_the_keyboard(page, server.url, ADMIN_TOKEN)
        page.get_by_role("link", name="Find a person").click()
        page.wait_for_url("**/portal/staff/people")
        page.get_by_label("Email address").fill("MINH@example.org")
        page.keyboard.press("Enter")
        page.wait_for_selector("h2.person")
        certificates = page.locator("section", has=page.get_by_role("heading", name="Certificates"))
        assert issued["serial"] in certificates.inner_text() and "Valid" in certificates.inner_text()
        assert (
            "Nguyễn Thị Minh"
            in page.locator("section", has=page.get_by_role("heading", name="On attendee lists")).inner_text()
        )
        requests = page.locator(
            "section", has=page.get_by_role("heading", name="Certificate requests")
        ).inner_text()
        assert "Issued" in requests
        shot(page, "13-staff-person")

        page.get_by_role("link", name="Export").click()
        page.wait_for_url("**/portal/staff/export")
        page.get_by_label("Contracting organization").fill("County Health")
        page.get_by_label("From (first session date)").fill("2026-03-01")
        page.get_by_label("To (last session date)").fill("2026-03-31")
        shot(page, "14-staff-export")
        with page.expect_download() as download:
            page.get_by_role("button", name="Download the CSV").click()
        saved = ARTIFACTS / download.value.suggested_filename
        download.value.save_as(saved)
        assert saved.name == "attendance-county-health-2026-03-01-2026-03-31.csv"
        assert issued["serial"] in saved.read_text(encoding="utf-8-sig")

        page.get_by_role("link", name="Requests").click()
        page.wait_for_url("**/portal/staff/requests")
        assert "early@example.org" in page.locator("table").inner_text()
        shot(page, "15-staff-requests")
        page.get_by_role("link", name="Sessions", exact=True).click()
        page.wait_for_url("**/portal/sessions")
        shot(page, "16-staff-sessions")
    finally:
        context.close()
