"""What a person newly wrote in an email, apart from what they quoted, forwarded or signed.

Dates and names must be looked for in the new text first: the attribution line of a quote ("On Tue,
Mar 3, 2026 at 9:14 AM … wrote:", "Am 07.03.2026 um 10:00 schrieb …") and the quoted text below it
carry dates the person did not mean, and signatures carry phone numbers and years. Forwarded messages
are kept apart: a request forwarded by its author still holds the facts.
"""

import re

import msgspec

# Attribution lines that open a quoted reply, in the languages attendees write in. They may wrap over
# two lines, so they are matched against each line joined with the next.
_ATTRIBUTION = re.compile(
    r"^\s*("
    r"On\s.{4,250}\bwrote\s*:"
    r"|Am\s.{4,250}\bschrieb.{0,250}:"
    r"|Le\s.{4,250}\ba\s+écrit\s*:"
    r"|El\s.{4,250}\bescribió\s*:"
    r"|Em\s.{4,250}\bescreveu\s*:"
    r"|Il\s.{4,250}\bha\s+scritto\s*:"
    r"|Op\s.{4,250}\bschreef.{0,250}:"
    r")\s*$",
    re.IGNORECASE,
)
# Outlook and friends quote with a separator or a header block instead of "> " lines.
_SEPARATOR = re.compile(
    r"^\s*(-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original)\s*-{2,}"
    r"|_{20,})\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(
    r"^\s*\**(From|Von|De|Da|Van|Från|Fra|Od|Lähettäjä|Afzender)\s*:\**\s*\S", re.IGNORECASE
)
_HEADER_NEXT = re.compile(
    r"^\s*\**(Sent|Date|Gesendet|Datum|Envoyé|Enviado|Inviato|Verzonden|Skickat|Sendt|Wysłano|Lähetetty|"
    r"To|An|À|Para|A|Aan|Till|Til|Do|Vastaanottaja|Subject|Betreff|Objet|Asunto|Oggetto|Onderwerp|Ämne|"
    r"Emne|Temat|Aihe|Cc)\s*:",
    re.IGNORECASE,
)
_FORWARDED = re.compile(
    r"^\s*(-{2,}\s*(Forwarded message|Weitergeleitete Nachricht|Message transféré|Mensaje reenviado)\s*-{2,}"
    r"|Begin forwarded message:)\s*$",
    re.IGNORECASE,
)
_MOBILE_FOOTER = re.compile(
    r"^\s*(Sent from my \w+|Sent from (Yahoo|Outlook|Mail) for|Get Outlook for|Enviado desde mi|"
    r"Von meinem .* gesendet|Envoyé de mon)",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^\s*(thanks?( you)?( so much)?|many thanks|thank you( very much)?|best( wishes| regards)?|"
    r"with (gratitude|thanks|appreciation|love|care)|gratefully|in gratitude|respectfully|"
    r"kind regards|regards|warm(est)? regards|warmly|cheers|sincerely|yours( truly| sincerely)?|"
    r"take care|in peace|blessings|ngā mihi( nui)?|nga mihi|gracias|saludos|un abrazo|merci|cordialement|"
    r"bien à vous|grüße|viele grüße|liebe grüße|mit freundlichen grüßen|obrigad[oa]|abraços|grazie|"
    r"cordiali saluti|groetjes|met vriendelijke groet|arigato|ありがとうございます)[\s,.!]*$",
    re.IGNORECASE,
)
_SIGNATURE_LINES = 8


class Parts(msgspec.Struct, frozen=True):
    new: str  # what the sender wrote now
    forwarded: str  # the messages they forwarded, if any


def split_body(body: str) -> Parts:
    lines = body.replace("\r\n", "\n").split("\n")
    forwarded_at = next((i for i, line in enumerate(lines) if _FORWARDED.match(line)), None)
    head = lines if forwarded_at is None else lines[:forwarded_at]
    forwarded = [] if forwarded_at is None else _without_header_block(lines[forwarded_at + 1 :])
    return Parts(
        new="\n".join(_trim_signature(_before_quote(head))).strip(), forwarded="\n".join(forwarded).strip()
    )


def _without_header_block(lines: list[str]) -> list[str]:
    """A forward starts with the forwarded message's From/Date/Subject/To: its Date is when it was
    written, not the session."""
    body = list(lines)
    while body and (not body[0].strip() or _HEADER_FROM.match(body[0]) or _HEADER_NEXT.match(body[0])):
        body.pop(0)
    return body


def _before_quote(lines: list[str]) -> list[str]:
    kept: list[str] = []
    for i, line in enumerate(lines):
        joined = f"{line} {lines[i + 1]}" if i + 1 < len(lines) else line
        if _ATTRIBUTION.match(line) or _ATTRIBUTION.match(joined) or _SEPARATOR.match(line):
            break
        if _HEADER_FROM.match(line) and any(_HEADER_NEXT.match(n) for n in lines[i + 1 : i + 4]):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return kept


def _trim_signature(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        if line.rstrip() == "--" or line == "-- " or _MOBILE_FOOTER.match(line):
            return lines[:i]
    # A sign-off near the end ("Thanks,\nAroha\n+64 …") starts the signature; one near the top
    # ("Thanks! It was on 4 March") does not.
    content = [i for i, line in enumerate(lines) if line.strip()]
    for position, i in enumerate(content):
        below = len(content) - position - 1
        if position > 0 and below <= _SIGNATURE_LINES and _SIGN_OFF.match(lines[i]):
            return lines[:i]
    return lines
