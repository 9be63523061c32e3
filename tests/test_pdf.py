"""The certificate PDF as a certification board receives it: text, fonts, QR code, page, bytes.

Everything is read back from the rendered bytes with poppler and zbar (see pdf_tools), so a test
passes only when a real reader would see the fact on the page.
"""

import base64
import datetime as dt
import itertools
import os
import re
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
import pytest

from service.certificates.content import CertificateContent
from service.certificates.pdf import ZLIB_LEVEL, render_certificate
from service.certificates.qr import QrMatrix, dark_runs, qr_matrix
from tests.pdf_tools import Word, decode_qr, pdf_fonts, pdf_info, pdf_text, pdf_words

SAMPLE = CertificateContent(
    serial="CL-2026-000123",
    holder_name="Nguyễn Thị Minh",
    issuer="IPS Central",
    title="IPS Co-reflection",
    session_date=dt.date(2026, 3, 4),
    start_time="18:00",
    timezone="America/New_York",
    duration_minutes=90,
    facilitators=("Jane Doe", "Sam Lee"),
    delivery="online",
    issued_on=dt.date(2026, 3, 5),
    verify_url="http://127.0.0.1:8000/v/eyJzIjoiQ0wtMjAyNi0wMDAxMjMifQ.aBcDeF.Zx9-kQ_sT2",
)

LONG_NAME = "Maximiliana Alexandrovna Konstantinopoulou-Wolfeschlegelsteinhausen de la Vega"
CROWDED = msgspec.structs.replace(
    SAMPLE,
    holder_name=LONG_NAME,
    title=(
        "Advanced Individual Placement and Support Fidelity Review: Co-Reflection on Job "
        "Development, Benefits Counselling and Integrated Mental Health Treatment Teams"
    ),
    facilitators=(
        "Jane Doe",
        "Sam Lee",
        "Αλέξανδρος Παπαδόπουλος",
        "Анна Кузнецова",
        "Zoë O'Brien-Łukasiewicz",
    ),
    verify_url="https://certificates.ipscentral.example.org/v/" + "eyJzZXJpYWwiOiJDTC0yMDI2" * 5,
)

# The gold inner rule of the border, in points from the top-left corner as pdftotext reports.
FRAME_LEFT, FRAME_TOP, FRAME_RIGHT, FRAME_BOTTOM = 30, 30, 792 - 30, 612 - 30


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    return render_certificate(SAMPLE)


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_every_fact_a_board_asks_for_is_on_the_page(sample_pdf: bytes) -> None:
    lines = lines_of(pdf_text(sample_pdf))

    assert "IPS Central" in lines
    assert "Certificate of Attendance" in lines
    assert "Nguyễn Thị Minh" in lines
    assert "IPS Co-reflection" in lines
    assert "Wednesday, 4 March 2026 · 18:00 (America/New_York)" in lines
    assert "90 minutes · 1.5 contact hours · Delivered online" in lines
    assert "Facilitated by Jane Doe and Sam Lee" in lines
    assert "For IPS Central" in lines
    assert "Certificate no. CL-2026-000123" in lines
    assert "Issued 5 March 2026" in lines
    assert "Scan or visit to verify" in lines
    assert SAMPLE.verify_url in lines


@pytest.mark.parametrize(
    "holder_name",
    [
        "Nguyễn Thị Minh",
        "Αλέξανδρος Παπαδόπουλος",
        "Анна Кузнецова",
        "Zoë O'Brien-Łukasiewicz",
        "Jane Doe",
    ],
)
def test_holder_name_extracts_exactly_as_given(holder_name: str) -> None:
    pdf = render_certificate(msgspec.structs.replace(SAMPLE, holder_name=holder_name))

    assert holder_name in lines_of(pdf_text(pdf))


def test_holder_name_is_the_largest_text(sample_pdf: bytes) -> None:
    words = pdf_words(sample_pdf)
    tallest = max(words, key=lambda word: word.y_max - word.y_min)

    assert tallest.text in SAMPLE.holder_name.split()


def test_time_zone_is_left_out_when_the_start_time_is_unknown() -> None:
    pdf = render_certificate(msgspec.structs.replace(SAMPLE, start_time=None))
    text = pdf_text(pdf)

    assert "Wednesday, 4 March 2026" in lines_of(text)
    assert "America/New_York" not in text


@pytest.mark.parametrize(
    ("minutes", "delivery", "expected"),
    [
        (90, "online", "90 minutes · 1.5 contact hours · Delivered online"),
        (60, "in_person", "60 minutes · 1 contact hour · Delivered in person"),
        (45, "online", "45 minutes · 0.75 contact hours · Delivered online"),
        (180, "in_person", "180 minutes · 3 contact hours · Delivered in person"),
    ],
)
def test_duration_contact_hours_and_delivery(minutes: int, delivery: str, expected: str) -> None:
    content = msgspec.structs.replace(SAMPLE, duration_minutes=minutes, delivery=delivery)

    assert expected in lines_of(pdf_text(render_certificate(content)))


@pytest.mark.parametrize(
    ("facilitators", "expected"),
    [
        (("Jane Doe",), "Facilitated by Jane Doe"),
        (("Jane Doe", "Sam Lee", "Анна Кузнецова"), "Facilitated by Jane Doe, Sam Lee and Анна Кузнецова"),
    ],
)
def test_facilitators_are_named_in_one_sentence(facilitators: tuple[str, ...], expected: str) -> None:
    content = msgspec.structs.replace(SAMPLE, facilitators=facilitators)

    assert expected in lines_of(pdf_text(render_certificate(content)))


def test_no_facilitator_line_without_facilitators() -> None:
    content = msgspec.structs.replace(SAMPLE, facilitators=())

    assert "Facilitated" not in pdf_text(render_certificate(content))


def test_unknown_delivery_is_refused() -> None:
    with pytest.raises(ValueError, match="hybrid"):
        render_certificate(msgspec.structs.replace(SAMPLE, delivery="hybrid"))


def test_crowded_certificate_keeps_every_word_inside_the_border_and_apart() -> None:
    pdf = render_certificate(CROWDED)
    words = pdf_words(pdf)

    for word in words:
        assert FRAME_LEFT < word.x_min < word.x_max < FRAME_RIGHT, word
        assert FRAME_TOP < word.y_min < word.y_max < FRAME_BOTTOM, word
    for first, second in itertools.combinations(words, 2):
        assert not overlap(first, second), (first, second)


def test_crowded_certificate_still_reads_completely() -> None:
    pdf = render_certificate(CROWDED)
    text = pdf_text(pdf)
    joined = " ".join(text.split())

    assert LONG_NAME in lines_of(text), "a long name shrinks rather than wraps"
    assert f"Facilitated by {', '.join(CROWDED.facilitators[:-1])} and Zoë" in joined
    assert CROWDED.title in joined
    # A URL too long for one line wraps without hyphens, so it reads back with the breaks removed.
    assert CROWDED.verify_url in "".join(text.split())
    assert decode_qr(pdf) == [CROWDED.verify_url]


def test_fonts_are_embedded_and_only_the_two_bundled_faces(sample_pdf: bytes) -> None:
    fonts = pdf_fonts(sample_pdf)

    assert fonts
    assert all(font["emb"] for font in fonts), fonts
    faces = {str(font["name"]).partition("+")[2] for font in fonts}
    assert faces == {"DejaVuSans", "DejaVuSerif-Bold"}


def test_a_certificate_is_a_small_email_attachment(sample_pdf: bytes) -> None:
    # Fonts carry no hinting instructions (scripts/lean_fonts.py): with them it was about 30 KB.
    assert len(sample_pdf) < 20_000, len(sample_pdf)
    assert len(render_certificate(CROWDED)) < 24_000


def test_every_stream_is_compressed_at_the_chosen_zlib_level(sample_pdf: bytes) -> None:
    streams = []
    for match in re.finditer(rb"<<([^<>]*)/Length (\d+)[^<>]*>>\s*stream\r?\n", sample_pdf):
        data = sample_pdf[match.end() : match.end() + int(match[2])]
        streams.append(base64.a85decode(data, adobe=True) if b"/ASCII85Decode" in match[1] else data)

    assert len(streams) == 5, "the page, two embedded fonts and their ToUnicode maps"
    for stream in streams:
        assert zlib.compress(zlib.decompress(stream), ZLIB_LEVEL) == stream


def test_qr_code_decodes_to_exactly_the_verify_url(sample_pdf: bytes) -> None:
    assert decode_qr(sample_pdf) == [SAMPLE.verify_url]


def test_page_is_landscape_us_letter(sample_pdf: bytes) -> None:
    info = pdf_info(sample_pdf)

    assert info["Pages"] == "1"
    assert info["Page size"].startswith("792 x 612 pts")
    assert info["Page rot"] == "0"


def test_metadata_names_the_certificate_and_keeps_the_serial(sample_pdf: bytes) -> None:
    info = pdf_info(sample_pdf)

    assert info["Title"] == "Certificate of Attendance CL-2026-000123"
    assert info["Author"] == "IPS Central"
    assert info["Keywords"] == "certledger-serial:CL-2026-000123"
    assert "Nguyễn Thị Minh" in info["Subject"]
    assert info["CreationDate"].startswith("Thu Mar  5 00:00:00 2026")


def test_rendering_twice_gives_identical_bytes(sample_pdf: bytes) -> None:
    assert render_certificate(SAMPLE) == sample_pdf


@pytest.mark.parametrize("hash_seed", ["1", "2"])
def test_another_process_renders_identical_bytes(sample_pdf: bytes, hash_seed: str) -> None:
    repository = Path(__file__).resolve().parents[1]
    script = (
        "import sys, msgspec\n"
        "from service.certificates.content import CertificateContent\n"
        "from service.certificates.pdf import render_certificate\n"
        "content = msgspec.json.decode(sys.stdin.buffer.read(), type=CertificateContent)\n"
        "sys.stdout.buffer.write(render_certificate(content))\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(repository), "PYTHONHASHSEED": hash_seed}
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=msgspec.json.encode(SAMPLE),
        capture_output=True,
        check=True,
        env=environment,
        cwd=repository,
    )

    assert result.stdout == sample_pdf


def test_concurrent_renders_match_sequential_ones() -> None:
    names = ["Nguyễn Thị Minh", "Αλέξανδρος Παπαδόπουλος", "Анна Кузнецова", "Zoë Łukasiewicz"]
    contents = [msgspec.structs.replace(SAMPLE, holder_name=name) for name in names] * 30
    expected = [render_certificate(content) for content in contents]

    # Switching threads every few bytecodes exposes races that the default 5 ms interval hides
    # (without the render lock this fails most runs, with ReportLab's shared font cursor).
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            rendered = list(pool.map(render_certificate, contents))
    finally:
        sys.setswitchinterval(interval)

    assert rendered == expected


def as_grid(matrix: QrMatrix) -> list[list[bool]]:
    """True where dark (zxing-cpp draws a dark module as 0)."""
    side = matrix.side
    return [[value == 0 for value in matrix.modules[row * side : (row + 1) * side]] for row in range(side)]


def test_qr_modules_are_dark_where_zxing_draws_black() -> None:
    matrix = qr_matrix(SAMPLE.verify_url)
    modules = as_grid(matrix)

    size = matrix.side
    assert len(matrix.modules) == size * size
    assert (size - 17) % 4 == 0, "a QR symbol is 4 x version + 17 modules wide"
    # The top-left finder pattern: a dark 7x7 ring, a light ring inside, a dark 3x3 centre,
    # and a light separator after it.
    assert all(modules[0][:7]) and all(modules[6][:7])
    assert not any(modules[1][1:6])
    assert all(modules[3][2:5])
    assert not any(modules[7][:8])


def test_dark_runs_cover_exactly_the_dark_modules_in_maximal_runs() -> None:
    matrix = qr_matrix(CROWDED.verify_url)
    modules = as_grid(matrix)
    runs = dark_runs(matrix)

    painted = [[False] * len(row) for row in modules]
    for row, start, length in runs:
        assert length > 0
        for column in range(start, start + length):
            assert not painted[row][column]
            painted[row][column] = True
    assert painted == modules
    for (row, start, length), (next_row, next_start, _) in itertools.pairwise(runs):
        assert row != next_row or start + length < next_start, "touching runs were not merged"


def overlap(first: Word, second: Word) -> bool:
    return (
        first.x_min < second.x_max
        and second.x_min < first.x_max
        and first.y_min < second.y_max
        and second.y_min < first.y_max
    )
