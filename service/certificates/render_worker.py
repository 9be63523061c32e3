"""The render process: certificate contents in on stdin, PDF bytes out on stdout, one at a time.

Each message is framed as a 4-byte big-endian length and its body. A request's body is the
msgpack-encoded `CertificateContent`; an answer starts with one status byte (0: the PDF follows,
1: the error's text follows). The process ends when its stdin closes.
"""

import contextlib
import os
import struct
import sys
from typing import BinaryIO

import msgspec

from service.certificates.content import CertificateContent
from service.certificates.pdf import render_certificate

HEADER = struct.Struct(">I")
OK, FAILED = b"\x00", b"\x01"


def frame(body: bytes) -> bytes:
    return HEADER.pack(len(body)) + body


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    decode = msgspec.msgpack.Decoder(CertificateContent).decode
    while header := requests.read(HEADER.size):
        if len(header) < HEADER.size:
            return
        (length,) = HEADER.unpack(header)
        body = requests.read(length)
        if len(body) < length:
            return
        try:
            answer = OK + render_certificate(decode(body))
        except Exception as exc:
            answer = FAILED + f"{type(exc).__name__}: {exc}".encode()
        answers.write(frame(answer))
        answers.flush()


def main() -> None:
    # Only answers may reach the parent through stdout: anything a library prints goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    # The server's Ctrl-C reaches its whole process group; the server says what happened.
    with contextlib.suppress(KeyboardInterrupt):
        serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
