"""The portal's browser session: a signed cookie naming who signed in, never holding their token.

The cookie carries the SHA-256 of the token (what the ledger stores; it grants nothing through the API) and
a random nonce that is also the session's CSRF token, signed with itsdangerous under the configured
secret keys (salt `certledger.portal`, so it can never pass for a certificate link) and refused after
SESSION_HOURS. Each request looks the hash up again, so a revoked token ends its portal session at once.

The cookie is HttpOnly, SameSite=Lax and Secure, except over plain http to a loopback host
(127.0.0.1, ::1, localhost), where a browser would otherwise drop it: that is the local test and
development case, and nothing crosses a network there. Behind a TLS-terminating proxy the Host header is
the public name, so the cookie stays Secure even when the proxy speaks http to the service.
"""

import hmac
import secrets
import sqlite3
from typing import Any

import msgspec
from itsdangerous import BadSignature, URLSafeTimedSerializer
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.datastructures.state import State
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.api.auth import BOOTSTRAP_ADMIN, Principal
from service.ledger.database import LedgerUnavailable
from service.ledger.exports import find_active_token_by_hash
from service.ledger.tokens import hash_token

COOKIE_NAME = "certledger_portal"
COOKIE_PATH = "/portal"
SALT = "certledger.portal"
SESSION_HOURS = 12
MAX_TOKEN_LENGTH = 512
PORTAL_ROLES = ("facilitator", "admin")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


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


def _is_loopback_http(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    url = connection.url
    return url.scheme == "http" and (url.hostname or "").strip("[]") in _LOOPBACK_HOSTS


def _cookie(connection: ASGIConnection[Any, Any, Any, Any], session: PortalSession) -> Cookie:
    value = _serializer(connection.app.state).dumps(msgspec.to_builtins(session))
    return Cookie(
        key=COOKIE_NAME,
        value=value,
        path=COOKIE_PATH,
        secure=not _is_loopback_http(connection),
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
        secure=not _is_loopback_http(connection),
        httponly=True,
        samesite="lax",
    )


def principal_for_token(state: State, token: str) -> Principal | None:
    """Who a token typed into the sign-in form is: checked like the API's bearer token."""
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return principal_for_hash(state, hash_token(token))


def principal_for_hash(state: State, token_hash: str) -> Principal | None:
    admin_token: str | None = state.settings.admin_token
    if admin_token is not None and hmac.compare_digest(token_hash, hash_token(admin_token)):
        return BOOTSTRAP_ADMIN
    try:
        record = find_active_token_by_hash(state.ledger.lookup, token_hash)
    except sqlite3.OperationalError as exc:
        raise LedgerUnavailable(str(exc)) from exc
    if record is None:
        return None
    return Principal(role=record.role, token_id=record.id, name=record.name, levels=record.levels)


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
            user = principal_for_hash(connection.app.state, session.token_hash)
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
