"""Where the files that ship with the package live."""

from pathlib import Path


def templates_dir() -> Path:
    """Installed wheels carry the templates inside the package; a checkout has them at the top."""
    packaged = Path(__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "templates"
