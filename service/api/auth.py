"""Bearer tokens and roles.

Tokens are looked up by their SHA-256, so the comparison that matters (the stored hash) never branches on
the secret; the bootstrap admin token is compared with hmac.compare_digest. Tokens are never logged.
`principal_for` is the one way from a token to who is calling: the bearer check here and the portal's
cookie (which holds the token's hash) both use it.
"""

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from service.ledger.database import Ledger
from service.ledger.tokens import find_active_token_by_hash, hash_token
from service.settings import Settings


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: their role, the session levels they may register, and how events name them."""

    role: str
    token_id: int | None
    name: str
    levels: tuple[str, ...]

    @property
    def actor(self) -> str:
        return "admin:bootstrap" if self.token_id is None else f"token:{self.token_id}:{self.name}"


BOOTSTRAP_ADMIN = Principal(role="admin", token_id=None, name="bootstrap", levels=("central", "hub"))


def principal_for_hash(token_hash: str, settings: Settings, ledger: Ledger) -> Principal | None:
    """Who holds the token with this SHA-256 (hex): the bootstrap admin of the configuration, an active
    token of the ledger, or nobody (None). Runs on the event loop's lookup connection; a ledger that cannot
    be read is LedgerUnavailable (a 503), never a refusal of a good token."""
    if settings.admin_token is not None and hmac.compare_digest(
        token_hash.encode(), hash_token(settings.admin_token).encode()
    ):
        return BOOTSTRAP_ADMIN
    record = ledger.look(lambda db: find_active_token_by_hash(db, token_hash))
    if record is None:
        return None
    return Principal(role=record.role, token_id=record.id, name=record.name, levels=record.levels)


def principal_for(token: str, settings: Settings, ledger: Ledger) -> Principal | None:
    """Who holds this token (as sent: a bearer token or the portal's sign-in form), or None."""
    return principal_for_hash(hash_token(token), settings, ledger)


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        raise NotAuthorizedException(
            "Send an API token as 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": 'Bearer realm="certledger"'},
        )
    return token


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = _bearer(connection)
        state = connection.app.state
        principal = principal_for(token, state.settings, state.ledger)
        if principal is None:
            raise NotAuthorizedException(
                "The API token is not valid (unknown or revoked).",
                headers={"WWW-Authenticate": 'Bearer realm="certledger", error="invalid_token"'},
            )
        return AuthenticationResult(user=principal, auth=None)


def requires(
    *roles: str,
) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]:
    """A guard admitting only these roles (admin is listed explicitly where it is admitted). A coroutine:
    Litestar runs a plain function guard in a worker thread, a thread hop on every API request."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.user.role not in roles:
            raise PermissionDeniedException(f"This needs a token with the role {' or '.join(roles)}.")

    return guard
