"""Cross-site request forgery: every POST form carries this browser session's nonce.

The nonce lives in the signed, HttpOnly session cookie (sign_in.py) and in a hidden field of each form the
portal renders; another site can make a browser send the cookie but can neither read the page nor forge the
signature, so it cannot send the matching field. The check runs for every POST of the portal's router (a
before_request hook), so no form can forget it; the sign-in form has its own nonce too (login CSRF).
A browser's own word that the request is cross-site (Sec-Fetch-Site) is refused as well.
"""

import hmac
from typing import Any

from litestar import Request

from service.portal.sign_in import current_session

FIELD = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfRefused(Exception):
    """The form did not come from a page of this portal in this browser session."""


async def check_csrf(request: Request[Any, Any, Any]) -> None:
    if request.method in _SAFE_METHODS:
        return
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise CsrfRefused
    sent = (await request.form()).get(FIELD)
    expected = current_session(request).nonce
    if not isinstance(sent, str) or not hmac.compare_digest(
        sent.encode("utf-8", "surrogatepass"), expected.encode()
    ):
        raise CsrfRefused


def csrf_token(request: Request[Any, Any, Any]) -> str:
    """The value of the hidden field every form of the page carries."""
    return current_session(request).nonce
