"""The signed verification link printed on every certificate.

The token is the serial signed with itsdangerous under the configured keys: the newest key signs, every
listed key verifies, and a token whose key was removed from the list no longer verifies. A separate salt
keeps these signatures from being valid for any other purpose.
"""

import hashlib
import secrets

from itsdangerous import BadData, Signer
from itsdangerous.encoding import base64_decode, base64_encode

_SALT = "certledger.verify-link"
_SERIAL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U to misread


class _Signer(Signer):
    """Derives each key once: itsdangerous hashes salt and key again on every call (a few percent of
    a verification request)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._derived: dict[bytes | str | None, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        derived = self._derived.get(secret_key)
        if derived is None:
            derived = self._derived[secret_key] = super().derive_key(secret_key)
        return derived


class LinkSigner:
    def __init__(self, secret_keys: tuple[str, ...], base_url: str) -> None:
        # itsdangerous takes the keys oldest first and signs with the last one.
        self._signer = _Signer(list(secret_keys), salt=_SALT, digest_method=hashlib.sha256)
        self._base_url = base_url.rstrip("/")

    def token_for(self, serial: str) -> str:
        return self._signer.sign(serial).decode()

    def url_for(self, serial: str) -> str:
        return f"{self._base_url}/v/{self.token_for(serial)}"

    def serial_from(self, token: str) -> str | None:
        """The serial a genuine token names; None for anything altered, truncated or foreign."""
        try:
            raw = token.encode("ascii")
            signature = raw.rpartition(b".")[2]
            # Base64 lets a few spellings of the last character decode to the same bytes; only the
            # spelling the signer wrote is genuine, so that every altered link fails alike.
            if base64_encode(base64_decode(signature)) != signature:
                return None
            return self._signer.unsign(raw).decode()
        except (BadData, UnicodeError, ValueError):
            return None


def new_serial() -> str:
    """A serial staff can read out on the phone: CL-XXXX-XXXX-XXXX (60 random bits)."""
    chars = "".join(secrets.choice(_SERIAL_ALPHABET) for _ in range(12))
    return f"CL-{chars[:4]}-{chars[4:8]}-{chars[8:]}"


_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


def normalize_serial(text: str) -> str:
    """A serial as staff type it from a phone call: any case, spaces, and Crockford's look-alikes
    (O for 0, I or L for 1) are read as the serial meant."""
    compact = "".join(text.split()).upper()
    if not compact.startswith("CL-"):
        return compact
    return "CL-" + compact[3:].translate(_LOOK_ALIKES)
