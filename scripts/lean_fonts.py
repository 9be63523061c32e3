"""Write the certificate's two fonts, from Debian's DejaVu, without what a PDF never uses.

ReportLab subsets the embedded faces on every render, copying each used glyph with its TrueType
hinting instructions. PDF viewers rasterise at their own resolution and mostly ignore those
instructions, yet they were about half of every certificate's font bytes. Dropping them (and the
OpenType layout and kerning tables, which ReportLab does not read) keeps every outline and advance
width, so the page looks and measures the same; a certificate drops from about 30 KB to 16 KB and
renders in about three quarters of the time (README, "Performance").

Run it when DejaVu is updated; the output is committed in service/certificates/fonts/:

    .venv/bin/pip install fonttools   # a maintenance tool only, not a dependency of the service
    .venv/bin/python scripts/lean_fonts.py [--source /usr/share/fonts/truetype/dejavu]
"""

import argparse
import sys
from pathlib import Path

FACES = ("DejaVuSans.ttf", "DejaVuSerif-Bold.ttf")
TARGET = Path(__file__).resolve().parent.parent / "service" / "certificates" / "fonts"
UNUSED_TABLES = ["GPOS", "GSUB", "GDEF", "kern", "MATH", "FFTM"]


def lean(source: Path, target: Path) -> None:
    from fontTools.subset import Options, Subsetter
    from fontTools.ttLib import TTFont

    font = TTFont(source)
    options = Options()
    options.hinting = False
    options.drop_tables += UNUSED_TABLES
    options.layout_features = []
    options.name_IDs = ["*"]  # keeps the copyright and licence records
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.glyph_names = False
    subsetter = Subsetter(options)
    subsetter.populate(gids=list(range(font["maxp"].numGlyphs)))  # every glyph: any name may come
    subsetter.subset(font)
    font.save(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/usr/share/fonts/truetype/dejavu"))
    args = parser.parse_args(argv)
    try:
        import fontTools  # noqa: F401
    except ImportError:
        print("lean_fonts: fontTools is missing: .venv/bin/pip install fonttools", file=sys.stderr)
        return 2
    for face in FACES:
        source = args.source / face
        if not source.is_file():
            print(f"lean_fonts: {source} is missing (apt-get install fonts-dejavu-core)", file=sys.stderr)
            return 2
        lean(source, TARGET / face)
        print(f"{face}: {source.stat().st_size:,} -> {(TARGET / face).stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
