"""The portal's browser session: a signed cookie naming who signed in, never holding their token.

The cookie carries the SHA-256 of the token (what the ledger stores; it grants nothing through the API) and
a random nonce that is also the session's CSRF token, signed with itsdangerous under the configured
secret keys (salt `certledger.portal`, so it can never pass for a certificate link) and refused after
SESSION_HOURS. Each request looks the hash up again, so a revoked token ends its portal session at once.

The cookie is HttpOnly, SameSite=Lax, and Secure whenever the service's public address
(CERTLEDGER_BASE_URL, the one printed on certificates) is https. The request's own Host header or scheme do
not decide it: a client chooses those, and behind a TLS-terminating proxy the service itself speaks http.
Only a deployment whose public address is plain http (the default http://127.0.0.1:8000, for local use)
sends it without Secure, where a browser would otherwise drop it.

Who the cookie names is looked up as the API's bearer token is (service.api.auth.principal_for_hash), and
only facilitators and staff (admin) sign in: the sign-in form refuses other roles, and the lookup of every
request refuses them again, so that even a cookie forged with a leaked signing key cannot turn an intake
token into a portal session.
"""

import secrets
from typing import Any

import msgspec
from itsdangerous import BadSignature, URLSafeTimedSerializer
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.datastructures.state import State
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.api.auth import Principal, principal_for_hash
from service.ledger.tokens import hash_token

COOKIE_NAME = "certledger_portal"
COOKIE_PATH = "/portal"
SALT = "certledger.portal"
SESSION_HOURS = 12
MAX_TOKEN_LENGTH = 512
PORTAL_ROLES = ("facilitator", "admin")


class PortalSession(msgspec.Struct, frozen=True, array_like=True):
    """What the cookie says: the CSRF nonce of this browser session and, once signed in, the token's hash."""

    nonce: str
    token_hash: str | None = None


def new_session(token_hash: str | None = None) -> PortalSession:
    """A fresh nonce at every sign-in and sign-out: a nonce seen before either never names a signed-in
    session (fixation) or no longer does."""
    return PortalSession(nonce=secrets.token_urlsafe(24), token_hash=token_hash)


def _serializer(state: State) -> URLSafeTimedSerializer:
    # itsdangerous takes the keys oldest first: the newest signs, every listed key still verifies.
    return URLSafeTimedSerializer(list(state.settings.secret_keys), salt=SALT)


def _read(connection: ASGIConnection[Any, Any, Any, Any]) -> PortalSession | None:
    value = connection.cookies.get(COOKIE_NAME)
    if not value or len(value) > 1024:
        return None
    try:
        payload = _serializer(connection.app.state).loads(value, max_age=SESSION_HOURS * 3600)
        return msgspec.convert(payload, PortalSession)
    except (BadSignature, msgspec.ValidationError):
        return None


def _secure(state: State) -> bool:
    """Secure when the public address is https (settings.base_url), whatever this request says."""
    return bool(state.settings.base_url.lower().startswith("https://"))


def _cookie(connection: ASGIConnection[Any, Any, Any, Any], session: PortalSession) -> Cookie:
    value = _serializer(connection.app.state).dumps(msgspec.to_builtins(session))
    return Cookie(
        key=COOKIE_NAME,
        value=value,
        path=COOKIE_PATH,
        secure=_secure(connection.app.state),
        httponly=True,
        samesite="lax",
    )


def _deleted_cookie(connection: ASGIConnection[Any, Any, Any, Any]) -> Cookie:
    return Cookie(
        key=COOKIE_NAME,
        value="",
        path=COOKIE_PATH,
        max_age=0,
        expires=0,
        secure=_secure(connection.app.state),
        httponly=True,
        samesite="lax",
    )


def principal_for_token(state: State, token: str) -> Principal | None:
    """Who a token typed into the sign-in form is: checked as the API's bearer token is."""
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return principal_for_hash(hash_token(token), state.settings, state.ledger)


def current_session(connection: ASGIConnection[Any, Any, Any, Any]) -> PortalSession:
    session: PortalSession | None = connection.scope["auth"]
    return session or new_session()


def start_session(connection: ASGIConnection[Any, Any, Any, Any], session: PortalSession) -> None:
    """Replace this browser's session; the middleware sends the new cookie with the answer."""
    connection.scope["auth"] = session
    connection.scope["user"] = None


def end_session(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Sign out: the middleware deletes the cookie."""
    connection.scope["auth"] = None
    connection.scope["user"] = None


class PortalSessionMiddleware(ASGIMiddleware):
    """Puts the signed-in Principal (or None) in `scope["user"]` and the PortalSession in `scope["auth"]`;
    sends a new cookie when the session is new or was replaced, and `Cache-Control: no-store` (the pages
    hold people's names and emails)."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
        incoming = _read(connection)
        session = incoming or new_session()
        user = None
        if session.token_hash is not None:
            state = connection.app.state
            user = principal_for_hash(session.token_hash, state.settings, state.ledger)
            if user is not None and user.role not in PORTAL_ROLES:
                user = None
        scope["auth"] = session
        scope["user"] = user

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers["Cache-Control"] = "no-store"
                if scope["auth"] is None:
                    headers.add("Set-Cookie", _deleted_cookie(connection).to_header(header=""))
                elif scope["auth"] != incoming:
                    headers.add("Set-Cookie", _cookie(connection, scope["auth"]).to_header(header=""))
            await send(message)

        await next_app(scope, receive, send_with_cookie)
