"""Which certificate a PDF file names, read from its bytes without trusting them (SPEC §6, POST /verify/pdf).

A certificate we render names its serial twice in the document information dictionary, as reportlab writes
it: `/Keywords (certledger-serial:CL-XXXX-XXXX-XXXX)` and `/Title (Certificate of Attendance CL-…)`. A file
someone edited or re-saved usually keeps them, but perhaps spelled differently: as a hex string, in UTF-16
with a byte-order mark, with escapes, in an XMP metadata stream, or inside a compressed object stream.
This module finds the serial in all of those without parsing the PDF: a parser is a large attack surface
for a public upload route, and a hostile file can make one loop or allocate without bound. It scans the
raw bytes, then the decoded string values of a few keys, then, when nothing marked as ours turned up, the
streams it can decode (Flate, ASCII85, ASCIIHex) within a fixed budget, where it also finds the page
text of a file another program wrote with a simple font encoding. Any serial-shaped token counts last.

Pure and total: any bytes in, a short tuple of candidate serials out (most telling first), never an
exception; the work is linear in the input and capped by the decoding budgets below.
"""

import base64
import binascii
import bisect
import re
import zlib
from collections.abc import Iterator

# Crockford base32, as links.new_serial writes serials: no I, L, O or U.
_CHAR = rb"[0-9A-HJKMNP-TV-Z]"
_SERIAL = rb"CL-" + _CHAR + rb"{4}-" + _CHAR + rb"{4}-" + _CHAR + rb"{4}"
_MARKED = re.compile(rb"certledger-serial:\s{0,8}(" + _SERIAL + rb")")
_TITLED = re.compile(rb"Certificate of Attendance\s{1,8}(" + _SERIAL + rb")")
# Standing alone: not inside a longer token (the first byte is checked by hand, for the regex's speed).
_ANYWHERE = re.compile(rb"(" + _SERIAL + rb")(?![0-9A-Za-z])")
_WORD_BYTES = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-")
# The keys whose string values are worth decoding: the document information and a link's target.
_STRING_ENTRY = re.compile(rb"/(?:Keywords|Title|Subject|URI)\s{0,64}(?=[(<])")
_LITERAL_TOKEN = re.compile(rb"\\(?:[0-7]{1,3}|\r\n|.)|[()]|[^\\()]+", re.DOTALL)
_HEX_STRING = re.compile(rb"<([0-9A-Fa-f\s]{0,8192})>")
_WHITESPACE = re.compile(rb"\s+")
_STREAM = re.compile(rb"stream(?:\r\n|\n|\r)")  # "endstream" is told apart by hand, for speed
_ENDSTREAM = re.compile(rb"endstream")
_FILTER = re.compile(rb"/Filter\s{0,64}(\[[^\]]{0,256}\]|/[A-Za-z0-9]{1,32})")
_NAME = re.compile(rb"/([A-Za-z0-9]{1,32})")
# Images and embedded fonts are most of a file's bytes and never hold the serial.
_SKIPPED_STREAM = re.compile(rb"/Subtype\s{0,64}/(?:Image|Type1C|CIDFontType0C|OpenType)|/Length[123]\b")

MAX_CANDIDATES = 5
MAX_MATCHES = 64  # per pattern and buffer: repeats of one serial must not cost a pass each
MAX_STRING_ENTRIES = 128
MAX_STRING_BYTES = 2048
MAX_STREAMS = 512
MAX_STREAM_OUTPUT = 4 * 1024 * 1024
MAX_TOTAL_OUTPUT = 16 * 1024 * 1024
MAX_ASCII85_INPUT = 256 * 1024  # Python decodes it a few bytes at a time: a budget of its own
_DICTIONARY_WINDOW = 1024
_SLICE = 256 * 1024
_OVERLAP = 512

_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
_FILTERS = {
    b"FlateDecode": "flate",
    b"Fl": "flate",
    b"ASCII85Decode": "ascii85",
    b"A85": "ascii85",
    b"ASCIIHexDecode": "hex",
    b"AHx": "hex",
}


def named_serials(pdf: bytes) -> tuple[str, ...]:
    """The serials `pdf` names, most telling first: marked as ours (the keywords), then in our title,
    then anywhere (a link, the page text); at most MAX_CANDIDATES, each once. Empty when it names none."""
    search = _Search()
    search.scan(pdf)
    if not search.marked:
        search.scan_streams(pdf)
    return search.serials()


class _Search:
    def __init__(self) -> None:
        self.marked: list[bytes] = []
        self.titled: list[bytes] = []
        self.anywhere: list[bytes] = []
        self.string_entries = MAX_STRING_ENTRIES
        self.output = MAX_TOTAL_OUTPUT
        self.ascii85 = MAX_ASCII85_INPUT

    def serials(self) -> tuple[str, ...]:
        unique = dict.fromkeys([*self.marked, *self.titled, *self.anywhere])
        return tuple(serial.decode("ascii") for serial in list(unique)[:MAX_CANDIDATES])

    def scan(self, buffer: bytes) -> None:
        """Serials written out in `buffer`, and in the decoded string values of its interesting keys."""
        self._match(buffer)
        for entry in _finditer(_STRING_ENTRY, buffer):
            if self.string_entries <= 0:
                break
            self.string_entries -= 1
            text = _string_at(buffer, entry.end())
            if text:
                self._match(text)

    def _match(self, buffer: bytes) -> None:
        for pattern, kind in ((_MARKED, self.marked), (_TITLED, self.titled), (_ANYWHERE, self.anywhere)):
            for seen, match in enumerate(_finditer(pattern, buffer)):
                if len(kind) >= MAX_CANDIDATES or seen >= MAX_MATCHES:
                    break
                if pattern is _ANYWHERE and match.start() and buffer[match.start() - 1] in _WORD_BYTES:
                    continue
                if match.group(1) not in kind:
                    kind.append(match.group(1))

    def scan_streams(self, pdf: bytes) -> None:
        """Decode the streams that can hold text or dictionaries and scan them, until one names a serial
        marked as ours or a budget is spent."""
        ends = [m.start() for m in _finditer(_ENDSTREAM, pdf)]
        view = memoryview(pdf)
        streams = (m for m in _finditer(_STREAM, pdf) if not pdf.endswith(b"end", 0, m.start()))
        for count, stream in enumerate(streams):
            if count >= MAX_STREAMS or self.output <= 0:
                return
            dictionary = pdf[max(0, stream.start() - _DICTIONARY_WINDOW) : stream.start()]
            dictionary = dictionary[dictionary.rfind(b"obj") + 1 :]  # this object's, not the one before
            filters = _filters(dictionary)
            if not filters or _SKIPPED_STREAM.search(dictionary):
                continue  # an unencoded stream was scanned with the file itself
            at = bisect.bisect_left(ends, stream.end())
            end = ends[at] if at < len(ends) else len(pdf)
            decoded = self._decode(view[stream.end() : end], filters)
            if decoded:
                self.scan(decoded)
                if self.marked:
                    return

    def _decode(self, data: bytes | memoryview, filters: list[str]) -> bytes:
        """The stream's data through its filters; b"" when it does not decode."""
        for name in filters:
            if name == "flate":
                data = self._inflate(data)
            elif name == "ascii85":
                data = self._ascii85(data)
            else:
                data = _ascii_hex(data)
            if not data:
                return b""
        return bytes(data)

    def _inflate(self, data: bytes | memoryview) -> bytes:
        limit = min(MAX_STREAM_OUTPUT, self.output)
        if limit <= 0:
            return b""
        try:
            # Stops at the end of the zlib stream; max_length defuses a decompression bomb.
            out = zlib.decompressobj().decompress(data, limit)
        except zlib.error:
            return b""
        self.output -= len(out)
        return out

    def _ascii85(self, data: bytes | memoryview) -> bytes:
        if self.ascii85 <= 0:
            return b""
        raw = bytes(data[: self.ascii85 + 2])
        end = raw.find(b"~>")
        if end < 0:
            return b""
        self.ascii85 -= end + 2
        body = raw[:end].lstrip()
        try:
            return base64.a85decode(body[2:] if body.startswith(b"<~") else body)
        except ValueError:
            return b""


def _finditer(pattern: re.Pattern[bytes], buffer: bytes) -> Iterator[re.Match[bytes]]:
    """pattern.finditer over `buffer` in slices, so that no single regex call holds the GIL (and with it
    the event loop) for long on a hostile 5 MB file. Slices overlap by more than any match is long."""
    for start in range(0, max(len(buffer), 1), _SLICE):
        for match in pattern.finditer(buffer, start, start + _SLICE + _OVERLAP):
            if match.start() >= start + _SLICE:
                break
            yield match


def _string_at(buffer: bytes, start: int) -> bytes:
    """The PDF string object at `start` ('(' or '<'), as ASCII-compatible bytes (text in UTF-16 or UTF-8
    decoded, other characters replaced); b"" when there is none."""
    if buffer.startswith(b"<<", start):
        return b""
    if buffer.startswith(b"<", start):
        hex_string = _HEX_STRING.match(buffer, start)
        raw = _unhex(hex_string.group(1)) if hex_string else b""
    else:
        raw = _literal(buffer[start + 1 : start + 1 + MAX_STRING_BYTES])
    if raw.startswith((b"\xfe\xff", b"\xff\xfe")):
        return raw.decode("utf-16", errors="replace").encode("ascii", errors="replace")
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace").encode("ascii", errors="replace")
    return raw


def _literal(body: bytes) -> bytes:
    """A literal string's bytes from just after its '(' to the balancing ')', escapes resolved."""
    out = bytearray()
    depth = 0
    for token in _LITERAL_TOKEN.finditer(body):
        piece = token.group()
        if piece == b")":
            if depth == 0:
                break
            depth -= 1
        elif piece == b"(":
            depth += 1
        elif piece[0] == 0x5C:  # a backslash escape
            escaped = piece[1:]
            if 0x30 <= escaped[0] <= 0x37:
                out.append(int(escaped, 8) & 0xFF)
            elif escaped not in (b"\n", b"\r", b"\r\n"):  # a backslash before a line break joins lines
                out += _ESCAPES.get(escaped, escaped)
            continue
        out += piece
    return bytes(out)


def _unhex(digits: bytes) -> bytes:
    digits = _WHITESPACE.sub(b"", digits)
    try:
        return binascii.unhexlify(digits + b"0" if len(digits) % 2 else digits)
    except (binascii.Error, ValueError):
        return b""


def _filters(dictionary: bytes) -> list[str] | None:
    """The stream's filters in decoding order; None when it has none, or one this module cannot decode."""
    declared = _FILTER.search(dictionary)
    if declared is None:
        return None
    names = [_FILTERS.get(name) for name in _NAME.findall(declared.group(1))]
    if not names or None in names:
        return None
    return [name for name in names if name is not None]


def _ascii_hex(data: bytes | memoryview) -> bytes:
    raw = bytes(data[: MAX_STREAM_OUTPUT * 2])
    end = raw.find(b">")
    return _unhex(raw if end < 0 else raw[:end])
