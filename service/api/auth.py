"""Bearer tokens and roles.

Tokens are looked up by their SHA-256, so the comparison that matters (the stored hash) never branches on
the secret; the bootstrap admin token is compared with hmac.compare_digest. Tokens are never logged.
"""

import hashlib
import hmac
import sqlite3
from collections.abc import Callable
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from service.ledger.database import LedgerUnavailable
from service.ledger.tokens import find_active_token


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
        admin_token: str | None = state.settings.admin_token
        if admin_token is not None and hmac.compare_digest(
            hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest(),
            hashlib.sha256(admin_token.encode()).digest(),
        ):
            return AuthenticationResult(user=BOOTSTRAP_ADMIN, auth=None)
        try:
            record = find_active_token(state.ledger.lookup, token)
        except sqlite3.OperationalError as exc:
            raise LedgerUnavailable(str(exc)) from exc
        if record is None:
            raise NotAuthorizedException(
                "The API token is not valid (unknown or revoked).",
                headers={"WWW-Authenticate": 'Bearer realm="certledger", error="invalid_token"'},
            )
        principal = Principal(role=record.role, token_id=record.id, name=record.name, levels=record.levels)
        return AuthenticationResult(user=principal, auth=None)


def requires(*roles: str) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """A guard admitting only these roles (admin is listed explicitly where it is admitted)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.user.role not in roles:
            raise PermissionDeniedException(f"This needs a token with the role {' or '.join(roles)}.")

    return guard
