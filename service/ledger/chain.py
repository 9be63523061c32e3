"""The keyed hash chain over events.

Each event's hash is an HMAC (under CERTLEDGER_LEDGER_KEY, kept apart from the database) over its own
content and the previous event's hash. Someone holding only the database file can edit a row but cannot
recompute the chain after it, so `certledger audit` sees the edit.
"""

import hashlib
import hmac

import msgspec

GENESIS = "0" * 64

_encoder = msgspec.json.Encoder(order="sorted")


def canonical_json(value: object) -> str:
    """One spelling per value (sorted keys, no spaces), so a hash never depends on dict order."""
    return _encoder.encode(value).decode()


def event_hash(
    key: bytes, prev_hash: str, seq: int, at: str, actor: str, kind: str, subject: str, payload: str
) -> str:
    message = "\x1f".join((prev_hash, str(seq), at, actor, kind, subject, payload))
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def first_broken_link(key: bytes, events: list[tuple[int, str, str, str, str, str, str, str]]) -> int | None:
    """The seq of the first event whose hash or link does not check out, None if the chain holds.

    `events` are (seq, at, actor, kind, subject, payload, prev_hash, hash) in seq order.
    """
    expected_prev, expected_seq = GENESIS, 1
    for seq, at, actor, kind, subject, payload, prev_hash, digest in events:
        if seq != expected_seq or prev_hash != expected_prev:
            return seq
        if not hmac.compare_digest(
            digest, event_hash(key, prev_hash, seq, at, actor, kind, subject, payload)
        ):
            return seq
        expected_prev, expected_seq = digest, seq + 1
    return None
