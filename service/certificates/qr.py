"""The verification link as a QR code drawn with vector operators on a certificate page.

A printed certificate is checked by pointing a phone at it, so the code must stay crisp at any
zoom and cost little per render: zxing-cpp computes the module matrix in C, and the page gets
one filled path of merged horizontal runs rather than a rectangle per module (fewer operators,
a smaller content stream, and no hairline seams in viewers that anti-alias each fill apart).
"""

import re
from typing import NamedTuple

import zxingcpp
from reportlab.pdfgen.canvas import Canvas

QUIET_ZONE_MODULES = 4
"""Light margin, in modules, that ISO/IEC 18004 requires for scanners to find the symbol."""

# zxing-cpp renders 8-bit grey images: 0 for a dark module, 255 for a light one.
_DARK_RUN = re.compile(rb"\x00+")


class QrMatrix(NamedTuple):
    """The QR symbol (error correction level M) without its quiet zone: `side` modules square,
    `modules` one byte per module, row by row from the top, 0 where dark and 255 where light."""

    side: int
    modules: bytes


def qr_matrix(data: str) -> QrMatrix:
    barcode = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = memoryview(barcode.to_image(scale=1, add_quiet_zones=False))
    return QrMatrix(image.shape[0], image.tobytes())


def dark_runs(matrix: QrMatrix) -> list[tuple[int, int, int]]:
    """Maximal horizontal runs of dark modules as (row, first column, length), row by row."""
    side = matrix.side
    return [
        (row, run.start() - row * side, run.end() - run.start())
        for row in range(side)
        for run in _DARK_RUN.finditer(matrix.modules, row * side, (row + 1) * side)
    ]


def draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """Draw `data` as a QR code in the square of side `size` whose lower-left corner is (x, y).

    The square includes a quiet zone of `QUIET_ZONE_MODULES` modules on every side, painted white
    so the code stays scannable whatever lies beneath it.
    """
    matrix = qr_matrix(data)
    side = matrix.side + 2 * QUIET_ZONE_MODULES
    top_row_y = side - QUIET_ZONE_MODULES - 1

    canvas.saveState()
    # In module units every coordinate is a small integer, exact in any notation.
    canvas.translate(x, y)
    canvas.scale(size / side, size / side)
    canvas.setFillGray(1)
    canvas.rect(0, 0, side, side, stroke=0, fill=1)
    canvas.setFillGray(0)
    # The path is written as PDF operators because PathObject.rect formats each coordinate with
    # ReportLab's pure-Python float formatter, about 1.3 ms for a few hundred runs.
    rectangles = "\n".join(
        f"{QUIET_ZONE_MODULES + start} {top_row_y - row} {length} 1 re"
        for row, start, length in dark_runs(matrix)
    )
    canvas.addLiteral(f"{rectangles}\nf")
    canvas.restoreState()
