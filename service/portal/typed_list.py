"""Reading an attendee list typed or pasted into the portal's text box.

One attendee per line. The cell holding an "@" is the email; the name is the rest:
- `Name, email` (or `email, Name`); a name may hold commas ("Doe, Jane, jane@example.org");
- cells separated by tabs, as a spreadsheet's rows paste: the first other non-empty cell is the name and
  further columns are ignored (a name may hold commas there too);
- `Name <email>`, as a mail client copies an address.
Blank lines are skipped, and so is a first line without an email that names the columns (a pasted header).
Emails are checked later, by the same rule as the API's, when the list is reviewed and submitted.
"""

import re

import msgspec

MAX_LINES = 5000
_ANGLE = re.compile(r"^(?P<name>[^<>]*)<(?P<email>[^<>]*@[^<>]*)>\s*$")
_HEADER_WORDS = ("mail", "name")


class TypedEntry(msgspec.Struct, frozen=True):
    name: str
    email: str


def _cells(line: str) -> list[str]:
    separator = "\t" if "\t" in line else ","
    return [cell.strip().strip('"').strip() for cell in line.split(separator)]


def _entry(line: str) -> TypedEntry | None:
    if angle := _ANGLE.match(line.strip()):
        return TypedEntry(name=angle["name"].strip().strip('"').strip(), email=angle["email"].strip())
    cells = _cells(line)
    at = next((i for i, cell in enumerate(cells) if "@" in cell), None)
    if at is None:
        return None
    others = [cell for i, cell in enumerate(cells) if i != at and cell]
    if not others:
        name = ""
    elif "\t" in line:
        name = others[0]  # a spreadsheet's further columns are not part of the name
    else:
        name = ", ".join(others)  # "Doe, Jane, jane@example.org"
    return TypedEntry(name=name, email=cells[at])


def read_typed_list(text: str) -> tuple[list[TypedEntry], list[str]]:
    """The entries, and a sentence for each line that could not be read (with its line number)."""
    entries: list[TypedEntry] = []
    problems: list[str] = []
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        return [], [f"The list has {len(lines)} lines; at most {MAX_LINES} can be read at once."]
    seen_content = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        entry = _entry(line)
        first = not seen_content
        seen_content = True
        if entry is None:
            if first and any(word in line.lower() for word in _HEADER_WORDS):
                continue
            problems.append(f"Line {number} has no email address; write it as “Name, email”.")
        elif not entry.name:
            problems.append(f"Line {number} has an email but no name; write it as “Name, email”.")
        else:
            entries.append(entry)
    return entries, problems
