"""The render process: certificate contents in on stdin, PDF bytes out on stdout, one at a time.

Each message is framed as a 4-byte big-endian length and its body. A request's body is the
msgpack-encoded `CertificateContent`; an answer starts with one status byte (0: the PDF follows,
1: the error's traceback follows). The process ends when its stdin closes.
"""

import os
import signal
import struct
import sys
import traceback
from typing import BinaryIO

HEADER = struct.Struct(">I")
OK, FAILED = b"\x00", b"\x01"


def frame(body: bytes) -> bytes:
    return HEADER.pack(len(body)) + body


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    # Imported here, once main() has guarded stdout.
    import msgspec

    from service.certificates.content import CertificateContent
    from service.certificates.pdf import render_certificate

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
        except Exception:
            answer = FAILED + traceback.format_exc().encode()
        answers.write(frame(answer))
        answers.flush()


def main() -> None:
    # Only answers may reach the server through stdout: from here on, before ReportLab is even imported,
    # anything else written to stdout goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    # Ctrl-C in the server's terminal reaches its whole process group: the render in hand is finished
    # for the server's graceful shutdown, and the process ends when the server closes its stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
