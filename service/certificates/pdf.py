"""The certificate of attendance as a one-page PDF that people hand to certification boards.

Rendering is a pure function of `CertificateContent`: the same content yields the same bytes in
any process, so an issued PDF can be reproduced and compared byte for byte, and a retried issue
stores the same file. What could make two renders differ (timestamps, locale-dependent date
names, font lookup paths, ReportLab's site settings, concurrent renders) is pinned here.
"""

import io
import threading
import zlib
from collections.abc import Sequence
from pathlib import Path

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import LETTER, landscape
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from service.certificates.content import CertificateContent
from service.certificates.qr import draw_qr
from service.rules.wording import day_month_year, join_names, long_date

FONT_DIR = Path(__file__).parent / "fonts"

# Every embedded face is subset and compressed on each render, milliseconds apiece: two faces only.
SERIF_BOLD = "certledger-DejaVuSerif-Bold"
SANS = "certledger-DejaVuSans"
_FACES = {SERIF_BOLD: "DejaVuSerif-Bold.ttf", SANS: "DejaVuSans.ttf"}

PAGE_WIDTH, PAGE_HEIGHT = landscape(LETTER)
CENTER_X = PAGE_WIDTH / 2
TEXT_WIDTH = PAGE_WIDTH - 2 * 96
NAME_WIDTH = PAGE_WIDTH - 2 * 66

NAVY = HexColor("#1F3A5F")
GOLD = HexColor("#A8874F")
INK = HexColor("#1C1C1C")
MUTED = HexColor("#5B6270")

QR_SIZE = 88.0

# ReportLab compresses every stream (the page, the embedded fonts, their ToUnicode maps) at zlib's
# default level 6 and has no setting for it. Level 1 renders a certificate in 12% less CPU for 7% more
# bytes (2.67 against 3.02 ms, 18.7 against 17.4 KB, measured side by side): the faster is chosen,
# because a certificate is rendered while its attendee waits and stays small either way.
ZLIB_LEVEL = 1


def _compress(data: str | bytes) -> bytes:
    return zlib.compress(data.encode() if isinstance(data, str) else data, ZLIB_LEVEL)


# The one Flate filter ReportLab uses for every stream (an upgrade that renamed it fails here), set on
# import so that every document of this process is compressed alike, whatever was rendered first.
pdfdoc.PDFZCompress.encode = _compress

_DELIVERY = {"online": "Delivered online", "in_person": "Delivered in person"}
# Break long URLs after these so each wrapped line still reads as a meaningful piece.
_URL_BREAK_AFTER = "/?&=-._~"

_fonts_lock = threading.Lock()
_fonts_registered = False
# ReportLab's TrueType faces share one read cursor while subsetting (TTFontFile.seek/read at
# save time), so two documents saved at once could corrupt each other's embedded fonts.
# A render is CPU-bound Python holding the GIL anyway; serialising costs no throughput.
_render_lock = threading.Lock()


def render_certificate(content: CertificateContent) -> bytes:
    """The certificate as PDF bytes: landscape US Letter, fonts embedded, QR code to verify_url."""
    _register_fonts()
    delivery = _DELIVERY.get(content.delivery)
    if delivery is None:
        raise ValueError(f"unknown delivery {content.delivery!r}; expected one of {set(_DELIVERY)}")
    with _render_lock:
        buffer = io.BytesIO()
        canvas = Canvas(
            buffer,
            pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
            invariant=1,
            pageCompression=1,
            initialFontName=SANS,
            lang="en",
        )
        _set_metadata(canvas, content)
        _draw_border(canvas)
        bottom_of_body = _draw_body(canvas, content, delivery)
        _draw_footer(canvas, content, bottom_of_body)
        canvas.showPage()
        canvas.save()
    return buffer.getvalue()


def _register_fonts() -> None:
    global _fonts_registered
    if _fonts_registered:
        return
    with _fonts_lock:
        if _fonts_registered:
            return
        for name, filename in _FACES.items():
            # Without asciiReadable ReportLab embeds only the glyphs a page uses instead of all of
            # printable ASCII: a third less render time and size. Passing it explicitly also keeps
            # a site-wide reportlab_settings from changing the bytes.
            pdfmetrics.registerFont(TTFont(name, FONT_DIR / filename, asciiReadable=0))
        _fonts_registered = True


def _set_metadata(canvas: Canvas, content: CertificateContent) -> None:
    issued = f"D:{content.issued_on:%Y%m%d}000000+00'00'"

    # Invariant mode pins the timestamp to 2000-01-01 (or SOURCE_DATE_EPOCH when that is set);
    # the issue date is as stable and, as the document's creation date, also true.
    def creation_date(*_timestamp: int) -> str:
        return issued

    canvas.setDateFormatter(creation_date)
    canvas.setTitle(f"Certificate of Attendance {content.serial}")
    canvas.setAuthor(content.issuer)
    canvas.setSubject(f"{content.holder_name} attended {content.title} on {long_date(content.session_date)}")
    # The upload check finds the serial here without parsing the page text.
    canvas.setKeywords(f"certledger-serial:{content.serial}")
    canvas.setCreator("certledger")


def _draw_border(canvas: Canvas) -> None:
    canvas.saveState()
    canvas.setStrokeColor(NAVY)
    canvas.setLineWidth(2.5)
    canvas.rect(22, 22, PAGE_WIDTH - 44, PAGE_HEIGHT - 44, stroke=1, fill=0)
    canvas.setStrokeColor(GOLD)
    canvas.setLineWidth(0.75)
    canvas.rect(30, 30, PAGE_WIDTH - 60, PAGE_HEIGHT - 60, stroke=1, fill=0)
    canvas.restoreState()


def _draw_body(canvas: Canvas, content: CertificateContent, delivery: str) -> float:
    """Draw everything above the footer; return the lowest baseline used."""
    canvas.setFillColor(NAVY)
    _centred(canvas, content.issuer, SANS, 13, 528, char_space=1.2)
    _centred(canvas, "Certificate of Attendance", SERIF_BOLD, 34, 484)
    _draw_ornament(canvas, 464)

    canvas.setFillColor(MUTED)
    _centred(canvas, "This certifies that", SANS, 12, 428)
    canvas.setFillColor(INK)
    _centred(canvas, content.holder_name, SERIF_BOLD, _name_size(content.holder_name), 380)
    canvas.saveState()
    canvas.setStrokeColor(GOLD)
    canvas.setLineWidth(0.75)
    canvas.line(CENTER_X - 240, 362, CENTER_X + 240, 362)
    canvas.restoreState()

    canvas.setFillColor(MUTED)
    _centred(canvas, "attended the session", SANS, 12, 336)
    canvas.setFillColor(NAVY)
    y = _centred_lines(canvas, content.title, SERIF_BOLD, 20, 15, 306, max_lines=2)

    canvas.setFillColor(INK)
    y = _centred_lines(canvas, _when(content), SANS, 12.5, 10.5, y - 34, max_lines=2)
    y = _centred_lines(canvas, f"{_duration(content)} · {delivery}", SANS, 12.5, 10.5, y - 20, 2)
    if content.facilitators:
        facilitated = f"Facilitated by {join_names(content.facilitators)}"
        y = _centred_lines(canvas, facilitated, SANS, 12.5, 10.5, y - 20, max_lines=2)
    return y


def _draw_ornament(canvas: Canvas, y: float) -> None:
    canvas.saveState()
    canvas.setStrokeColor(GOLD)
    canvas.setFillColor(GOLD)
    canvas.setLineWidth(0.75)
    canvas.line(CENTER_X - 70, y, CENTER_X - 8, y)
    canvas.line(CENTER_X + 8, y, CENTER_X + 70, y)
    diamond = canvas.beginPath()
    diamond.moveTo(CENTER_X, y + 3.5)
    diamond.lineTo(CENTER_X + 3.5, y)
    diamond.lineTo(CENTER_X, y - 3.5)
    diamond.lineTo(CENTER_X - 3.5, y)
    diamond.close()
    canvas.drawPath(diamond, stroke=0, fill=1)
    canvas.restoreState()


def _draw_footer(canvas: Canvas, content: CertificateContent, bottom_of_body: float) -> None:
    # The footer sits at a fixed height unless a long title or facilitator list pushed the body
    # down; then it moves down with it so the QR code never touches the text.
    qr_y = min(100.0, bottom_of_body - 16 - QR_SIZE)
    rule_y = qr_y + 28
    column = 200.0
    left = 84.0
    right = PAGE_WIDTH - 84.0

    canvas.saveState()
    canvas.setStrokeColor(INK)
    canvas.setLineWidth(0.6)
    canvas.line(left, rule_y, left + column, rule_y)
    canvas.restoreState()
    canvas.setFillColor(INK)
    signatory = f"For {content.issuer}"
    canvas.setFont(SANS, min(10.0, _fit_size(signatory, SANS, column)))
    canvas.drawString(left, rule_y - 14, signatory)

    serial = f"Certificate no. {content.serial}"
    canvas.setFont(SANS, min(10.0, _fit_size(serial, SANS, column)))
    canvas.drawRightString(right, rule_y - 14, serial)
    canvas.setFillColor(MUTED)
    canvas.setFont(SANS, 9)
    canvas.drawRightString(right, rule_y - 28, f"Issued {day_month_year(content.issued_on)}")

    draw_qr(canvas, content.verify_url, CENTER_X - QR_SIZE / 2, qr_y, QR_SIZE)
    _centred(canvas, "Scan or visit to verify", SANS, 8, qr_y - 9)
    url_size = 7.5
    canvas.setFillColor(NAVY)
    canvas.setFont(SANS, url_size)
    for index, line in enumerate(_wrap_url(content.verify_url, url_size, TEXT_WIDTH)):
        canvas.drawCentredString(CENTER_X, qr_y - 19 - index * url_size * 1.25, line)


def _centred(canvas: Canvas, text: str, font: str, size: float, y: float, char_space: float = 0) -> None:
    canvas.setFont(font, size)
    canvas.drawCentredString(CENTER_X, y, text, charSpace=char_space)


def _centred_lines(
    canvas: Canvas,
    text: str,
    font: str,
    max_size: float,
    min_size: float,
    y: float,
    max_lines: int,
) -> float:
    """Draw `text` centred from baseline `y` down, as large and on as few lines as fits.

    Return the baseline of the last line.
    """
    lines, size = _fit_lines(text, font, max_size, min_size, max_lines)
    canvas.setFont(font, size)
    for line in lines:
        canvas.drawCentredString(CENTER_X, y, line)
        y -= size * 1.25
    return y + size * 1.25


def _fit_lines(
    text: str, font: str, max_size: float, min_size: float, max_lines: int
) -> tuple[list[str], float]:
    """Prefer fewer lines over a bigger size, within [min_size, max_size] in half points.

    Text that overflows `max_lines` lines even at `min_size` keeps shrinking: smaller than
    planned is better than drawn over the border or the QR code.
    """
    words = text.split()
    space = pdfmetrics.stringWidth(" ", font, 1)
    unit_widths = [pdfmetrics.stringWidth(word, font, 1) for word in words]
    steps = int((max_size - min_size) / 0.5)
    sizes = [max_size - 0.5 * step for step in range(steps + 1)]
    overflow_sizes = [min_size - 0.5 * step for step in range(1, int(min_size / 0.5))]
    attempts = [(count, size) for count in range(1, max_lines + 1) for size in sizes]
    attempts += [(max_lines, size) for size in overflow_sizes]
    for line_count, size in attempts:
        lines = _wrap_words(words, unit_widths, space, TEXT_WIDTH / size)
        if lines is not None and len(lines) <= line_count:
            return lines, size
    return [" ".join(words)], _fit_size(text, font, TEXT_WIDTH)


def _wrap_words(
    words: Sequence[str], unit_widths: Sequence[float], space: float, limit: float
) -> list[str] | None:
    """Greedy wrap with widths at 1 pt against `limit`; None when a single word is too wide."""
    lines: list[str] = []
    current: list[str] = []
    current_width = 0.0
    for word, width in zip(words, unit_widths, strict=True):
        if width > limit:
            return None
        if current and current_width + space + width > limit:
            lines.append(" ".join(current))
            current, current_width = [], 0.0
        current_width += (space if current else 0.0) + width
        current.append(word)
    if current:
        lines.append(" ".join(current))
    return lines


def _name_size(holder_name: str) -> float:
    # The name is the focal point: never wrapped (it must read, and extract, as one string),
    # only made smaller when very long, and allowed wider than the other lines.
    return min(40.0, _fit_size(holder_name, SERIF_BOLD, NAME_WIDTH))


def _fit_size(text: str, font: str, width: float) -> float:
    unit_width = pdfmetrics.stringWidth(text, font, 1)
    return width / unit_width if unit_width else width


def _wrap_url(url: str, size: float, width: float) -> list[str]:
    """Split a URL that does not fit into lines, preferring breaks after URL punctuation."""
    lines: list[str] = []
    start = 0
    line_width = 0.0
    for index, char in enumerate(url):
        char_width = pdfmetrics.stringWidth(char, SANS, size)
        if line_width + char_width > width and index > start:
            punctuation = max(url.rfind(mark, start, index) for mark in _URL_BREAK_AFTER)
            cut = punctuation + 1 if punctuation - start > (index - start) // 2 else index
            lines.append(url[start:cut])
            start = cut
            line_width = pdfmetrics.stringWidth(url[start:index], SANS, size)
        line_width += char_width
    lines.append(url[start:])
    return lines


def _when(content: CertificateContent) -> str:
    day = long_date(content.session_date)
    if content.start_time is None:
        return day
    return f"{day} · {content.start_time} ({content.timezone})"


def _duration(content: CertificateContent) -> str:
    minutes = content.duration_minutes
    hours = content.contact_hours
    return (
        f"{minutes} minute{'' if minutes == 1 else 's'} · {hours:g} contact hour{'' if hours == 1 else 's'}"
    )
