"""Read PDFs back with the tools a certification board's staff would use: poppler and zbar.

Tests check what these tools extract from the real bytes, not what the renderer meant to draw.
A missing tool skips the test on a workstation but fails it under CI=true, so a CI image that
lost poppler-utils or zbar-tools cannot turn the PDF checks green by skipping them.
"""

import contextlib
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from tests import support

_XHTML = "{http://www.w3.org/1999/xhtml}"
# zbarimg exits 4 when it ran fine but found no symbol.
_ZBAR_NOTHING_FOUND = 4


class Word(NamedTuple):
    """A word as pdftotext -bbox sees it, in points from the page's top-left corner."""

    text: str
    page: int
    x_min: float
    y_min: float
    x_max: float
    y_max: float


def require_tool(name: str) -> str:
    """Path of the poppler or zbar executable `name`."""
    return support.require_tool(name, "poppler-utils zbar-tools")


def pdf_text(pdf_bytes: bytes, *, layout: bool = False) -> str:
    """The text pdftotext extracts, UTF-8; `layout` keeps the physical arrangement."""
    pdftotext = require_tool("pdftotext")
    with _pdf_file(pdf_bytes) as pdf:
        return _output(pdftotext, "-enc", "UTF-8", *(["-layout"] if layout else []), pdf, "-")


def pdf_words(pdf_bytes: bytes) -> list[Word]:
    """Every word with its bounding box (pdftotext -bbox)."""
    pdftotext = require_tool("pdftotext")
    with _pdf_file(pdf_bytes) as pdf:
        root = ET.fromstring(_output(pdftotext, "-enc", "UTF-8", "-bbox", pdf, "-"))
    words = []
    for page_number, page in enumerate(root.iter(f"{_XHTML}page"), start=1):
        for word in page.iter(f"{_XHTML}word"):
            box = [float(word.attrib[key]) for key in ("xMin", "yMin", "xMax", "yMax")]
            words.append(Word(word.text or "", page_number, *box))
    return words


def pdf_info(pdf_bytes: bytes) -> dict[str, str]:
    """pdfinfo's fields (Title, Author, Keywords, Page size, Pages, …) by name."""
    pdfinfo = require_tool("pdfinfo")
    with _pdf_file(pdf_bytes) as pdf:
        output = _output(pdfinfo, "-enc", "UTF-8", pdf)
    fields = {}
    for line in output.splitlines():
        name, separator, value = line.partition(":")
        if separator:
            fields[name.strip()] = value.strip()
    return fields


def pdf_fonts(pdf_bytes: bytes) -> list[dict[str, str | bool]]:
    """pdffonts' table: name, type, encoding, emb, sub, uni (booleans) and object_id per font."""
    pdffonts = require_tool("pdffonts")
    with _pdf_file(pdf_bytes) as pdf:
        output = _output(pdffonts, pdf)
    header, rule, *rows = output.splitlines()
    # Columns are as wide as the dashes under their heading; names and types may contain spaces.
    spans = []
    start = 0
    for dashes in rule.split(" "):
        spans.append((start, start + len(dashes)))
        start += len(dashes) + 1
    keys = [header[a:b].strip().lower().replace(" ", "_") for a, b in spans]
    # The last column ("object ID") holds two numbers, wider than its dashes.
    spans[-1] = (spans[-1][0], None)
    fonts: list[dict[str, str | bool]] = []
    for row in rows:
        cells = [row[a:b].strip() for a, b in spans]
        font: dict[str, str | bool] = dict(zip(keys, cells, strict=True))
        for flag in ("emb", "sub", "uni"):
            font[flag] = font[flag] == "yes"
        fonts.append(font)
    return fonts


def decode_qr(pdf_bytes: bytes, *, dpi: int = 150) -> list[str]:
    """Every QR or barcode zbarimg decodes from the pages rendered at `dpi`, in page order."""
    pdftoppm = require_tool("pdftoppm")
    zbarimg = require_tool("zbarimg")
    with _pdf_file(pdf_bytes) as pdf:
        _output(pdftoppm, "-r", str(dpi), "-png", pdf, pdf.parent / "page")
        decoded: list[str] = []
        for image in sorted(pdf.parent.glob("page*.png")):
            result = subprocess.run(
                [zbarimg, "-q", "--raw", image], capture_output=True, encoding="utf-8", check=False
            )
            if result.returncode == _ZBAR_NOTHING_FOUND:
                continue
            if result.returncode != 0:
                raise RuntimeError(f"zbarimg failed ({result.returncode}): {result.stderr}")
            decoded.extend(line for line in result.stdout.splitlines() if line)
        return decoded


@contextlib.contextmanager
def _pdf_file(pdf_bytes: bytes) -> Iterator[Path]:
    # The tools want a file; a private directory also collects pdftoppm's page images.
    with tempfile.TemporaryDirectory() as directory:
        pdf = Path(directory) / "document.pdf"
        pdf.write_bytes(pdf_bytes)
        yield pdf


def _output(*command: str | Path) -> str:
    return subprocess.run(command, check=True, capture_output=True, encoding="utf-8").stdout
