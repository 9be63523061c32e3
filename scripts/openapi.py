"""Write the app's OpenAPI document to openapi/openapi.json, or check that the committed one is current.

    python scripts/openapi.py           # (re)write openapi/openapi.json
    python scripts/openapi.py --check   # exit 1 when openapi/openapi.json differs from the app's document

The document is built from `service.app.create_app(settings)` without a server or a real database: the
settings point at a temporary directory that is never opened (the ledger opens only when the app starts).
The output is stable (sorted keys, two-space indent, a trailing newline), so a diff shows only real changes.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "openapi" / "openapi.json"
# Settings that influence the document are none; these only keep load_settings from writing a key file.
_ENV = {
    "CERTLEDGER_SECRET_KEYS": "openapi-document-only",
    "CERTLEDGER_LEDGER_KEY": "openapi-document-only",
    "CERTLEDGER_PUBLIC_RATE_LIMIT": "0",
}


def build_document() -> dict[str, Any]:
    """The OpenAPI document exactly as the app serves it at /schema/openapi.json, as plain JSON data."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from litestar.serialization import encode_json

    from service.app import create_app
    from service.settings import load_settings

    with tempfile.TemporaryDirectory(prefix="certledger-openapi-") as tmp:
        settings = load_settings({**_ENV, "CERTLEDGER_DB": str(Path(tmp) / "unused.sqlite3")})
        app = create_app(settings, render_processes=0)
        # encode_json is what the schema route uses, so values such as struct defaults serialize the same.
        return json.loads(encode_json(app.openapi_schema.to_schema()))


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the committed document differs; write nothing"
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="where the document lives (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    text = render(build_document())
    output: Path = args.output
    shown = output.relative_to(ROOT) if output.is_relative_to(ROOT) else output
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else None
        if current != text:
            state = "is missing" if current is None else "differs from the app's OpenAPI document"
            print(f"{shown} {state}; run `python scripts/openapi.py` and commit the result.", file=sys.stderr)
            return 1
        print(f"{shown} is up to date.")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"wrote {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
