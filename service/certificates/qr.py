"""The verification link as a QR code drawn with vector operators on a certificate page.

A printed certificate is checked by pointing a phone at it, so the code must stay crisp at any
zoom and cost little per render: zxing-cpp computes the module matrix in C, and the page gets
one filled path of merged horizontal runs rather than a rectangle per module (fewer operators,
a smaller content stream, and no hairline seams in viewers that anti-alias each fill apart).
"""

import zxingcpp
from reportlab.pdfgen.canvas import Canvas

QUIET_ZONE_MODULES = 4
"""Light margin, in modules, that ISO/IEC 18004 requires for scanners to find the symbol."""

# zxing-cpp renders 8-bit grey images: 0 for a dark module, 255 for a light one.
_DARK = 0


def qr_modules(data: str) -> list[list[bool]]:
    """The QR symbol for `data` (error correction level M) as rows of modules, True where dark.

    Rows run top to bottom; the quiet zone is not included.
    """
    barcode = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = memoryview(barcode.to_image(scale=1, add_quiet_zones=False))
    return [[value == _DARK for value in row] for row in image.tolist()]


def dark_runs(modules: list[list[bool]]) -> list[tuple[int, int, int]]:
    """Maximal horizontal runs of dark modules as (row, first column, length), row by row."""
    runs: list[tuple[int, int, int]] = []
    for row_index, row in enumerate(modules):
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            runs.append((row_index, start, column - start))
    return runs


def draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """Draw `data` as a QR code in the square of side `size` whose lower-left corner is (x, y).

    The square includes a quiet zone of `QUIET_ZONE_MODULES` modules on every side, painted white
    so the code stays scannable whatever lies beneath it.
    """
    modules = qr_modules(data)
    side = len(modules) + 2 * QUIET_ZONE_MODULES
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
        for row, start, length in dark_runs(modules)
    )
    canvas.addLiteral(f"{rectangles}\nf")
    canvas.restoreState()
