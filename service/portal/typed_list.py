"""Reading an attendee list typed or pasted into the portal's text box.

One attendee per line. The word holding an "@" is the email; the name is the rest:
- `Name, email` (or `email, Name`); a name may hold commas ("Doe, Jane, jane@example.org");
- `Name; email`, and `Name email` with only a space between (the email is the word with the "@");
- cells separated by tabs, as a spreadsheet's rows paste: the first other non-empty cell is the name and
  further columns are ignored (a name may hold commas there too);
- `Name <email>`, as a mail client copies an address, and a mail client's list of them on one line
  (`Jane Doe <jane@…>, Bob <bob@…>`), read by the standard library's address parser: one attendee each.
Blank lines are skipped, and so is a first line without an email that names the columns (a pasted header).
A line with two emails and no angle brackets is not guessed at: it is reported, to be split in two.
Emails are checked later, by the same rule as the API's, when the list is reviewed and submitted.
"""

import email.utils
import re

import msgspec

MAX_LINES = 5000
_HEADER_WORDS = ("mail", "name")
_TRIM = " \t\"'<>()[]"


class TypedEntry(msgspec.Struct, frozen=True):
    name: str
    email: str


def _addresses(line: str) -> list[TypedEntry] | None:
    """`Name <email>`, or several of them separated by commas or semicolons; None when the line is not
    written that way."""
    if "<" not in line or ">" not in line:
        return None
    found = email.utils.getaddresses([line.replace(";", ",")])
    entries = [TypedEntry(name=" ".join(name.split()), email=address.strip()) for name, address in found]
    entries = [e for e in entries if e.name or e.email]
    if not entries or not all("@" in e.email for e in entries):
        return None
    return entries


def _split(line: str) -> list[str]:
    separator = "\t" if "\t" in line else ";" if ";" in line else ","
    return [cell.strip().strip('"').strip() for cell in line.split(separator)]


def _entries(line: str) -> list[TypedEntry] | str | None:
    """The line's attendees; a problem in words; or None when it has no email."""
    if (listed := _addresses(line.strip())) is not None:
        return listed
    cells = _split(line)
    emails: list[str] = []
    rest: list[str] = []  # each cell without its email, in order
    for cell in cells:
        words = cell.split()
        emails += [w.strip(_TRIM) for w in words if "@" in w]
        rest.append(" ".join(w for w in words if "@" not in w))
    if not emails:
        return None
    if len(emails) > 1:
        return "has more than one email address; put each person on a line of their own"
    others = [cell for cell in rest if cell]
    if not others:
        name = ""
    elif "\t" in line:
        name = others[0]  # a spreadsheet's further columns are not part of the name
    else:
        name = ", ".join(others)  # "Doe, Jane, jane@example.org"
    return [TypedEntry(name=re.sub(r"\s+", " ", name).strip(), email=emails[0])]


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
        found = _entries(line)
        first = not seen_content
        seen_content = True
        if found is None:
            if first and any(word in line.lower() for word in _HEADER_WORDS):
                continue
            problems.append(f"Line {number} has no email address; write it as “Name, email”.")
        elif isinstance(found, str):
            problems.append(f"Line {number} {found}.")
        elif not all(entry.name for entry in found):
            problems.append(f"Line {number} has an email but no name; write it as “Name, email”.")
        else:
            entries += found
    return entries, problems
