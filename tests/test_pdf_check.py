"""POST /verify/pdf (SPEC §6, issue 5 point 2): is this file exactly a certificate we issued?

genuine (the stored bytes, whatever the certificate's status), altered (names one of ours but differs: an
edited byte, a viewer's incremental save, a new /ID, another program's rewrite, a forgery from scratch),
unknown (anything else, garbage included, never a 5xx). Programs get JSON, the upload form a page; 413
over 5 MB, 415 for other media types; nothing is stored. The real app over ASGI and over a real socket.
"""

import base64
import io
import os
import re
import sqlite3
import subprocess
import time
import zlib
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient
from reportlab.pdfgen.canvas import Canvas

from service.app import create_app
from service.certificates.content import sample_certificate
from service.certificates.fingerprint import MAX_CANDIDATES, named_serials
from service.certificates.pdf import render_certificate
from service.settings import Settings, load_settings
from tests.pdf_tools import pdf_info
from tests.support import LiveServer, Service, attendee, require_tool

MB = 1024 * 1024
PDF = {"Content-Type": "application/pdf"}
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


# --- set-up ---------------------------------------------------------------------------------------------


def issue(service: Service, email: str = "minh@example.org", name: str = "Nguyễn Thị Minh") -> dict[str, Any]:
    session = service.session(facilitators=["Jane Doe", "Sam Lee"])
    service.attendees(session["id"], [attendee(name, email)])
    return service.ask(email=email)["certificate"]


def stored_pdf(service: Service, serial: str) -> bytes:
    response = service.admin.get(f"/api/v1/certificates/{serial}/pdf")
    assert response.status_code == 200, response.text
    return response.content


def check(client: Any, data: bytes, **headers: str) -> httpx.Response:
    return client.post("/verify/pdf", content=data, headers={**PDF, **headers})


def upload(client: Any, data: bytes, filename: str = "certificate.pdf", **headers: str) -> httpx.Response:
    """What the page's form sends: multipart/form-data with the file in its `file` field."""
    headers = {"Accept": BROWSER, **headers}
    return client.post("/verify/pdf", files={"file": (filename, data, "application/pdf")}, headers=headers)


def table_counts(settings: Settings) -> dict[str, int]:
    with sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}


def assert_page(response: httpx.Response, status: int = 200) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "form-action 'self'" in csp and "script-src" not in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script" not in response.text and "style=" not in response.text
    return response.text


def assert_upload_form(page: str) -> None:
    """The form works without JavaScript, under the CSP, with a label and the keyboard."""
    form = re.search(r"<form[^>]*>.*?</form>", page, re.DOTALL)
    assert form, page
    tag = form.group()
    assert 'action="/verify/pdf"' in tag and 'method="post"' in tag
    assert 'enctype="multipart/form-data"' in tag
    field = re.search(r'<input id="([^"]+)" name="file" type="file"[^>]*>', tag)
    assert field and "required" in field.group() and "application/pdf" in field.group()
    assert f'<label for="{field.group(1)}">' in tag
    assert '<button type="submit">' in tag
    assert "tabindex" not in tag and "onclick" not in tag


# --- altered copies of a certificate's file -------------------------------------------------------------


def flip_content_byte(pdf: bytes) -> bytes:
    """One character changed in the middle of the page's content stream (ASCII85 over Flate)."""
    contents = int(re.search(rb"/Contents (\d+) 0 R", pdf).group(1))
    start = re.search(rb"\n%d 0 obj\n.*?stream\r?\n" % contents, pdf, re.DOTALL).end()
    end = pdf.index(b"endstream", start)
    at = (start + end) // 2
    replacement = b"!" if pdf[at : at + 1] != b"!" else b'"'
    return pdf[:at] + replacement + pdf[at + 1 :]


def _info(pdf: bytes) -> tuple[int, bytes]:
    number = int(re.findall(rb"/Info (\d+) 0 R", pdf)[-1])
    dictionary = re.search(rb"\n%d 0 obj\n(<<.*?>>)\nendobj" % number, pdf, re.DOTALL).group(1)
    return number, dictionary


def incremental_update(pdf: bytes, info: bytes | None = None) -> bytes:
    """What a viewer's Save appends to a file: a new document information object, a new cross-reference
    section and a trailer pointing back at the old one. By default the same metadata, a new ModDate."""
    number, dictionary = _info(pdf)
    info = info or re.sub(rb"/ModDate \([^)]*\)", b"/ModDate (D:20270101120000+00'00')", dictionary)
    size = int(re.findall(rb"/Size (\d+)", pdf)[-1])
    root = re.findall(rb"/Root (\d+ \d+ R)", pdf)[-1]
    previous = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    body = b"\n%d 0 obj\n%s\nendobj\n" % (number, info)
    offset, xref = len(pdf) + 1, len(pdf) + len(body)
    tail = (
        b"xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root %s /Info %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
        % (number, offset, size, root, number, previous, xref)
    )
    return pdf + body + tail


def new_document_id(pdf: bytes) -> bytes:
    """The same file with another /ID in its trailer, as a program that rewrites it gives it."""
    changed = re.sub(
        rb"\[<[0-9a-f]{32}><[0-9a-f]{32}>\]", b"[<" + b"ab" * 16 + b"><" + b"cd" * 16 + b">]", pdf
    )
    assert changed != pdf and len(changed) == len(pdf)
    return changed


def utf16_hex(text: str) -> bytes:
    return b"<" + ("\ufeff" + text).encode("utf-16-be").hex().upper().encode() + b">"


def rewritten_metadata(pdf: bytes) -> bytes:
    """Another program's save: the original metadata strings blanked, new ones written as UTF-16 hex."""
    _, dictionary = _info(pdf)
    keywords = re.search(rb"/Keywords \(certledger-serial:([^)]*)\)", dictionary)
    serial = keywords.group(1).decode()
    blanked = pdf.replace(keywords.group(), b" " * len(keywords.group()))
    title = re.search(rb"/Title \([^)]*\)", blanked).group()
    blanked = blanked.replace(title, b" " * len(title))
    assert serial.encode() not in blanked
    info = b"<< /Producer (Some Editor 12.0) /Keywords %s /Title %s >>" % (
        utf16_hex(f"certledger-serial:{serial}"),
        utf16_hex(f"Certificate of Attendance {serial}"),
    )
    return incremental_update(blanked, info)


def new_pdf(text: str = "Certificate of Attendance", keywords: str | None = None) -> bytes:
    """A PDF that we never issued, made with the same library."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=1)
    if keywords:
        canvas.setKeywords(keywords)
    canvas.drawString(72, 720, text)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# --- genuine --------------------------------------------------------------------------------------------


def test_the_issued_bytes_are_genuine_with_the_certificates_verification(service: Service):
    certificate = issue(service)
    pdf = stored_pdf(service, certificate["serial"])
    response = check(service.client, pdf)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "genuine"
    # The same verification as the link printed on the certificate gives.
    assert body["certificate"] == service.verify(certificate["verify_url"]).json()
    assert body["certificate"]["status"] == "valid"
    assert body["certificate"]["serial"] == certificate["serial"]
    assert "minh@example.org" not in response.text


def test_the_genuine_file_of_a_revoked_certificate_shows_the_revocation_and_its_reason(service: Service):
    certificate = issue(service)
    pdf = stored_pdf(service, certificate["serial"])
    assert check(service.client, pdf).json()["certificate"]["status"] == "valid"
    revoked = service.admin.post(
        f"/api/v1/certificates/{certificate['serial']}/revoke", json={"reason": "Attendance was misrecorded"}
    )
    assert revoked.status_code == 200
    body = check(service.client, pdf).json()
    assert body["status"] == "genuine"
    assert body["certificate"]["status"] == "revoked"
    assert body["certificate"]["revocation_reason"] == "Attendance was misrecorded"
    assert body["certificate"]["revoked_at"]
    page = assert_page(upload(service.client, pdf))
    assert "Genuine file of a revoked certificate" in page
    assert "Attendance was misrecorded" in page and "Valid" not in page


def test_the_genuine_file_of_a_superseded_certificate_points_at_the_corrected_one(service: Service):
    session = service.session()
    service.attendees(session["id"], [attendee("Minh Nguyen", "minh@example.org")])
    first = service.ask(email="minh@example.org")["certificate"]
    service.attendees(session["id"], [attendee("Nguyễn Thị Minh", "minh@example.org")])
    second = service.ask(email="minh@example.org")["certificate"]
    assert second["serial"] != first["serial"]

    old = check(service.client, stored_pdf(service, first["serial"])).json()
    assert old["status"] == "genuine"
    assert old["certificate"]["status"] == "superseded"
    assert old["certificate"]["superseded_by"] == {
        "serial": second["serial"],
        "verify_url": second["verify_url"],
    }
    new = check(service.client, stored_pdf(service, second["serial"])).json()
    assert (new["status"], new["certificate"]["status"]) == ("genuine", "valid")
    assert new["certificate"]["holder_name"] == "Nguyễn Thị Minh"

    page = assert_page(upload(service.client, stored_pdf(service, first["serial"])))
    assert "Genuine file of a superseded certificate" in page
    assert f'href="{second["verify_url"]}"' in page and second["serial"] in page


# --- altered --------------------------------------------------------------------------------------------


def altered_copies(pdf: bytes) -> dict[str, bytes]:
    return {
        "one byte of the page content changed": flip_content_byte(pdf),
        "a viewer's incremental save": incremental_update(pdf),
        "rewritten with a new /ID": new_document_id(pdf),
        "metadata rewritten by another program": rewritten_metadata(pdf),
        "a byte appended": pdf + b"\n",
        "cut short (the trailer lost)": pdf[:-64],
    }


def test_a_changed_or_re_saved_file_that_names_a_certificate_is_altered(service: Service):
    certificate = issue(service)
    pdf = stored_pdf(service, certificate["serial"])
    for how, copy in altered_copies(pdf).items():
        response = check(service.client, copy)
        assert response.status_code == 200, how
        assert response.json() == {"status": "altered", "certificate": None}, how


def test_the_re_saved_copies_are_real_pdfs_that_still_name_the_serial(service: Service):
    """The copies the test above calls altered are what a viewer would open, not broken files."""
    certificate = issue(service)
    pdf = stored_pdf(service, certificate["serial"])
    for copy in (incremental_update(pdf), new_document_id(pdf), rewritten_metadata(pdf)):
        info = pdf_info(copy)
        assert info["Keywords"] == f"certledger-serial:{certificate['serial']}"
        assert info["Title"] == f"Certificate of Attendance {certificate['serial']}"
    assert pdf_info(rewritten_metadata(pdf))["Producer"] == "Some Editor 12.0"


def test_a_file_ghostscript_rewrote_is_altered(service: Service):
    gs = require_tool("gs", "ghostscript")
    certificate = issue(service)
    pdf = stored_pdf(service, certificate["serial"])
    result = subprocess.run(
        [gs, "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite", "-sOutputFile=-", "-"],
        input=pdf,
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.startswith(b"%PDF") and result.stdout != pdf
    assert check(service.client, result.stdout).json() == {"status": "altered", "certificate": None}


def test_a_forgery_made_from_scratch_that_names_a_real_certificate_is_altered(service: Service):
    certificate = issue(service)
    serial = certificate["serial"]
    forged = new_pdf(f"Certificate of Attendance {serial}", keywords=f"certledger-serial:{serial}")
    assert check(service.client, forged).json() == {"status": "altered", "certificate": None}
    # Naming it only in the visible text, in a simple font, is naming it too.
    assert check(service.client, new_pdf(f"Serial {serial}")).json()["status"] == "altered"


def test_the_altered_page_warns_and_sends_to_the_verification_link(service: Service):
    certificate = issue(service)
    page = assert_page(upload(service.client, flip_content_byte(stored_pdf(service, certificate["serial"]))))
    assert "This file has been changed" in page
    assert certificate["serial"] in page
    assert "edited, or re-saved" in page and "verification link printed on the certificate" in page
    assert "Do not rely on this file" in page
    # The file proves nothing: the page does not show what the certificate says.
    assert "Nguyễn Thị Minh" not in page and "Genuine" not in page
    assert_upload_form(page)


# --- unknown --------------------------------------------------------------------------------------------


def unknown_bodies(serial_that_does_not_exist: str) -> dict[str, bytes]:
    return {
        "a PDF we never issued": new_pdf(),
        "a PDF naming a serial that does not exist": new_pdf(
            keywords=f"certledger-serial:{serial_that_does_not_exist}"
        ),
        "a text file": "Certificate of Attendance\nNguyễn Thị Minh\n".encode(),
        "empty": b"",
        "0xFF bytes": b"\xff" * (1 * MB),
        "random bytes": os.urandom(256 * 1024),
        "a PDF header and nothing else": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        "exactly 5 MB of zeros": b"\0" * (5 * MB),
    }


def test_anything_else_is_unknown_never_a_server_error(service: Service):
    certificate = issue(service)
    for what, data in unknown_bodies("CL-0000-0000-0000").items():
        response = check(service.client, data)
        assert response.status_code == 200, what
        assert response.json() == {"status": "unknown", "certificate": None}, what
    assert certificate["serial"] != "CL-0000-0000-0000"


def test_the_unknown_page_says_it_is_not_a_certificate_we_issued(service: Service):
    for data in (new_pdf(), b"", b"\xff" * 4096):
        page = assert_page(upload(service.client, data, filename="scan of certificate.pdf"))
        assert "This file is not a certificate we issued" in page
        assert "verification link printed on it" in page
        assert "scan of certificate.pdf" in page
        assert_upload_form(page)


def test_over_5_mb_is_413_problem_details_for_programs_and_a_page_for_the_form(service: Service):
    too_big = b"%PDF-1.7\n" + b"\0" * (6 * MB)
    response = check(service.client, too_big)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "5 MB" in response.json()["detail"]
    assert check(service.client, b"\0" * (5 * MB + 1)).status_code == 413

    page = assert_page(upload(service.client, too_big), status=413)
    assert "too large" in page and "5 MB" in page
    assert_upload_form(page)
    # A file just over 5 MB fits the form's envelope allowance but is still refused.
    assert upload(service.client, b"\0" * (5 * MB + 1)).status_code == 413
    as_json = upload(service.client, too_big, Accept="application/json")
    assert as_json.status_code == 413 and as_json.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/json", "application/x-www-form-urlencoded", "application/octet-stream", None],
)
def test_other_media_types_are_415_problem_details(service: Service, content_type: str | None):
    headers = {"Content-Type": content_type} if content_type else {}
    response = service.client.post("/verify/pdf", content=new_pdf(), headers=headers)
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert "application/pdf" in response.json()["detail"]


def test_a_pdf_media_type_with_parameters_and_any_case_is_a_pdf(service: Service):
    certificate = issue(service)
    pdf = stored_pdf(service, certificate["serial"])
    response = check(service.client, pdf, **{"Content-Type": "Application/PDF; name=certificate.pdf"})
    assert response.json()["status"] == "genuine"


# --- the form -------------------------------------------------------------------------------------------


def test_the_form_answers_a_page_for_each_outcome(service: Service):
    certificate = issue(service)
    pdf = stored_pdf(service, certificate["serial"])
    genuine = assert_page(upload(service.client, pdf, filename=f"certificate-{certificate['serial']}.pdf"))
    assert "Genuine certificate" in genuine and "not been revoked" in genuine
    assert "Nguyễn Thị Minh" in genuine and "Jane Doe and Sam Lee" in genuine
    assert certificate["serial"] in genuine and "1.5 contact hours" in genuine
    assert "minh@example.org" not in genuine
    assert_upload_form(genuine)

    altered = assert_page(upload(service.client, incremental_update(pdf)))
    assert "This file has been changed" in altered
    unknown = assert_page(upload(service.client, new_pdf()))
    assert "This file is not a certificate we issued" in unknown


def test_the_form_can_ask_for_json(service: Service):
    certificate = issue(service)
    pdf = stored_pdf(service, certificate["serial"])
    response = upload(service.client, pdf, Accept="application/json")
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["status"] == "genuine"
    assert response.json()["certificate"]["serial"] == certificate["serial"]


def test_a_form_without_a_file_gets_the_form_again(service: Service):
    # A browser that ignores `required` sends an empty text field; a script may name the field wrongly.
    without_file = [
        {"data": {"file": ""}, "files": {"other": ("x.pdf", b"%PDF-1.7", "application/pdf")}},
        {"files": {"pdf": ("certificate.pdf", new_pdf(), "application/pdf")}},
    ]
    for sent in without_file:
        page = assert_page(
            service.client.post("/verify/pdf", headers={"Accept": BROWSER}, **sent), status=422
        )
        assert "No file was received" in page
        assert_upload_form(page)
        as_json = service.client.post("/verify/pdf", headers={"Accept": "application/json"}, **sent)
        assert as_json.status_code == 422
        assert as_json.headers["content-type"] == "application/problem+json"
        assert "'file' field" in as_json.json()["detail"]


def test_a_hostile_multipart_body_is_a_4xx_never_a_5xx(service: Service):
    boundary = "XyZ"
    form = f"multipart/form-data; boundary={boundary}"

    def part(headers: str, content: bytes) -> bytes:
        return f"--{boundary}\r\n{headers}\r\n\r\n".encode() + content + f"\r\n--{boundary}--\r\n".encode()

    bodies = {
        # The file's bytes in a part without a filename are read as text: binary fails to decode.
        "binary text field": part('Content-Disposition: form-data; name="file"', b"%PDF-\xff\xfe\x00"),
        "unknown charset": part(
            'Content-Disposition: form-data; name="file"\r\nContent-Type: text/plain; charset=x-nope', b"a"
        ),
        "not a text codec": part(
            'Content-Disposition: form-data; name="file"\r\nContent-Type: text/plain; charset=base64', b"a"
        ),
        "no closing boundary": f'--{boundary}\r\nContent-Disposition: form-data; name="file"'.encode(),
        "garbage": os.urandom(4096),
        "empty": b"",
    }
    for what, body in bodies.items():
        response = service.client.post(
            "/verify/pdf", content=body, headers={"Content-Type": form, "Accept": BROWSER}
        )
        assert response.status_code in (400, 422), (what, response.status_code, response.text[:300])
        assert_page(response, status=response.status_code)
    no_boundary = service.client.post(
        "/verify/pdf", content=b"x", headers={"Content-Type": "multipart/form-data", "Accept": BROWSER}
    )
    assert "The upload could not be read" in assert_page(no_boundary, status=400)


def test_the_verification_pages_carry_the_upload_form(service: Service):
    certificate = issue(service)
    valid = service.verify(certificate["verify_url"], accept=BROWSER)
    assert "Valid certificate" in valid.text
    assert_upload_form(assert_page(valid))
    invalid = service.client.get("/v/not-a-token", headers={"Accept": BROWSER})
    assert_upload_form(assert_page(invalid, status=404))
    standalone = assert_page(service.client.get("/verify/pdf"))
    assert "Check a certificate's PDF file" in standalone
    assert_upload_form(standalone)
    css = service.client.get("/static/certledger.css").text
    assert ".file-check-form" in css and ".verdict-altered" in css


# --- nothing stored, rate limited, indexed ------------------------------------------------------------


def test_a_check_stores_nothing(service: Service):
    certificate = issue(service)
    pdf = stored_pdf(service, certificate["serial"])
    before = table_counts(service.settings)
    assert before["certificates"] == 1 and before["events"] > 0
    for data in (pdf, flip_content_byte(pdf), new_pdf(), b"", b"\xff" * 1000):
        assert check(service.client, data).status_code == 200
        assert upload(service.client, data).status_code == 200
    assert check(service.client, b"\0" * (6 * MB)).status_code == 413
    assert (
        service.client.post("/verify/pdf", content=pdf, headers={"Content-Type": "text/plain"}).status_code
        == 415
    )
    assert table_counts(service.settings) == before


def test_the_check_is_rate_limited_like_the_verification_links(env: dict[str, str]):
    limited = {**env, "CERTLEDGER_PUBLIC_RATE_LIMIT": "3"}
    with TestClient(create_app(load_settings(limited), render_processes=0)) as client:
        statuses = [check(client, b"%PDF-1.7").status_code for _ in range(3)]
        refused = upload(client, new_pdf())
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1


def test_the_digest_lookup_uses_an_index(service: Service):
    issue(service)
    with sqlite3.connect(f"file:{service.settings.db_path}?mode=ro", uri=True) as db:
        plan = " ".join(
            str(row[-1])
            for row in db.execute(
                "EXPLAIN QUERY PLAN SELECT serial FROM certificates WHERE pdf_sha256 = ?", ("x",)
            )
        )
    assert "USING INDEX certificates_pdf_sha256" in plan or "USING COVERING INDEX" in plan, plan


# --- over a real socket ---------------------------------------------------------------------------------


def test_the_upload_form_over_a_real_socket(live_server: LiveServer, env: dict[str, str]):
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        service = Service(http, load_settings(env))
        pdf = stored_pdf(service, issue(service)["serial"])
        revoked = issue(service, "kai@example.org", "Kai Moana")
        revoked_pdf = stored_pdf(service, revoked["serial"])
        service.admin.post(
            f"/api/v1/certificates/{revoked['serial']}/revoke",
            json={"reason": "Left after the opening round"},
        )

        page = assert_page(upload(http, pdf))
        assert "Genuine certificate" in page and "Nguyễn Thị Minh" in page
        page = assert_page(upload(http, revoked_pdf))
        assert "Genuine file of a revoked certificate" in page and "Left after the opening round" in page
        assert "This file has been changed" in assert_page(upload(http, incremental_update(pdf)))
        assert "not a certificate we issued" in assert_page(upload(http, b"\xff" * 2048))
        assert "too large" in assert_page(upload(http, b"\0" * (6 * MB)), status=413)
        assert check(http, pdf).json()["certificate"]["status"] == "valid"
        assert check(http, b"\0" * (6 * MB)).status_code == 413
    assert "Traceback" not in live_server.log()


# --- the fingerprint on its own --------------------------------------------------------------------------

SERIAL = "CL-7K3M-Q9PX-2VHD"


def octal_utf16_literal(text: str) -> bytes:
    return b"(\\376\\377" + b"".join(b"\\000" + bytes([c]) for c in text.encode("ascii")) + b")"


def flate_stream(dictionary: bytes, data: bytes) -> bytes:
    compressed = zlib.compress(data)
    return b"9 0 obj\n<< %s /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (
        dictionary,
        len(compressed),
        compressed,
    )


@pytest.mark.parametrize(
    "pdf",
    [
        b"/Keywords (certledger-serial:" + SERIAL.encode() + b")",
        b"/Keywords" + utf16_hex(f"certledger-serial:{SERIAL}"),
        b"/Keywords <" + f"certledger-serial:{SERIAL}".encode().hex().encode() + b">",
        b"/Keywords " + octal_utf16_literal(f"certledger-serial:{SERIAL}"),
        b"/Keywords (certledger\\055serial:CL\\0557K3M-Q9PX\\\n-2VHD)",
        b"/Title (Certificate of Attendance " + SERIAL.encode() + b")",
        b"/Title" + utf16_hex(f"Certificate of Attendance {SERIAL}"),
        flate_stream(
            b"/Type /ObjStm /N 1 /First 5 /Filter /FlateDecode",
            b"12 0 << /Keywords " + utf16_hex(f"certledger-serial:{SERIAL}") + b" >>",
        ),
        flate_stream(
            b"/Type /Metadata /Subtype /XML /Filter /FlateDecode",
            f"<x:xmpmeta><pdf:Keywords>certledger-serial:{SERIAL}</pdf:Keywords></x:xmpmeta>".encode(),
        ),
        b"9 0 obj\n<< /Filter [ /ASCII85Decode /FlateDecode ] /Length 99 >>\nstream\n"
        + base64.a85encode(zlib.compress(f"BT ({SERIAL}) Tj ET".encode()))
        + b"~>\nendstream",
        b"/A << /S /URI /URI (https://certs.example.org/v/" + SERIAL.encode() + b".c2lnbmF0dXJl) >>",
    ],
    ids=[
        "literal",
        "utf16-hex",
        "hex",
        "utf16-octal",
        "escapes",
        "title",
        "title-utf16",
        "object-stream",
        "xmp",
        "ascii85-page-text",
        "link",
    ],
)
def test_the_serial_is_found_however_it_is_written(pdf: bytes):
    assert named_serials(b"%PDF-1.7\n" + pdf + b"\n%%EOF") == (SERIAL,)


def test_serials_marked_as_ours_come_first_and_look_alikes_do_not_count():
    other = "CL-AAAA-BBBB-CCCC"
    pdf = b"(%s) Tj /Title (Certificate of Attendance %s) /Keywords (certledger-serial:%s)" % (
        other.encode(),
        other.encode(),
        SERIAL.encode(),
    )
    assert named_serials(pdf) == (SERIAL, other)
    for not_one in (b"XCL-7K3M-Q9PX-2VHD", b"CL-7K3M-Q9PX-2VHDX", b"CL-7K3M-Q9PX-2VHI", b"cl-7k3m-q9px-2vhd"):
        assert named_serials(not_one) == (), not_one
    many = b" ".join(b"CL-0000-0000-%04d" % i for i in range(50))
    assert len(named_serials(many)) == MAX_CANDIDATES


def test_hostile_files_are_read_quickly():
    bomb = flate_stream(b"/Filter /FlateDecode", b"\0" * (300 * MB))
    hostile = {
        "decompression bomb": bomb,
        "many bombs": bomb * 20,
        "streams without end": b"1 0 obj << /Filter /FlateDecode >> stream\n" * (5 * MB // 44),
        "titles without end": b"/Title (" * (5 * MB // 8),
        "escapes": (b"/Title (" + b"\\1" * 2000 + b")") * (5 * MB // 4010),
        "open hex strings": b"/Keywords <" + b"0" * (5 * MB),
        "serial prefixes": b"CL-" * (5 * MB // 3),
        "repeated serial": (SERIAL.encode() + b" ") * (5 * MB // 18),
        "ascii85 without end": b"1 0 obj << /Filter /ASCII85Decode >> stream\n" + b"!" * (5 * MB),
        "random": os.urandom(5 * MB),
    }
    for what, data in hostile.items():
        started = time.perf_counter()
        named_serials(data)
        assert time.perf_counter() - started < 2.0, what


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=64),
            st.sampled_from(
                [
                    b"stream\n",
                    b"endstream",
                    b"/Filter /FlateDecode",
                    b"/Filter [/A85 /Fl]",
                    b"/Keywords",
                    b"/Title",
                    b"(",
                    b")",
                    b"\\",
                    b"<",
                    b">",
                    b"<<",
                    b"<FEFF",
                    b"~>",
                    b"obj",
                    b"certledger-serial:",
                    b"CL-",
                    SERIAL.encode(),
                    zlib.compress(b"/Keywords (certledger-serial:" + SERIAL.encode() + b")"),
                ]
            ),
        ),
        max_size=40,
    ).map(b"".join)
)
def test_any_bytes_give_a_short_tuple_of_serials_and_never_an_exception(data: bytes):
    serials = named_serials(data)
    assert isinstance(serials, tuple) and len(serials) <= MAX_CANDIDATES
    assert all(
        re.fullmatch(r"CL-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", s)
        for s in serials
    )


def test_a_rendered_certificate_names_its_serial_where_the_check_looks_first():
    content = msgspec.structs.replace(
        sample_certificate(), serial=SERIAL, verify_url=f"https://certs.example.org/v/{SERIAL}.c2lnbmF0dXJl"
    )
    pdf = render_certificate(content)
    assert f"/Keywords (certledger-serial:{SERIAL})".encode() in pdf
    assert named_serials(pdf) == (SERIAL,)
