"""ASGI middleware: security headers on every answer, and the per-client rate limit on public routes."""

import math
import time
from typing import Any

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.api.problems import PROBLEM_JSON

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
]


async def add_security_headers(message: Message, scope: Scope) -> None:
    """A before_send hook, so error pages get the headers too."""
    if message["type"] == "http.response.start":
        present = {name.lower() for name, _ in message.get("headers", [])}
        extra = [h for h in _SECURITY_HEADERS if h[0] not in present]
        message["headers"] = [*message.get("headers", []), *extra]


class RateLimiter:
    """A token bucket per client address: `per_minute` requests, refilled evenly.

    Kept in process memory: with several worker processes each keeps its own buckets (the README says so).
    """

    def __init__(self, per_minute: int, clock: Any = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}
        self.last_sweep = clock()

    def take(self, client: str) -> float | None:
        """Spend one token; None when allowed, else the seconds until a token is back."""
        now = self.clock()
        if now - self.last_sweep > 60:
            # Full buckets carry no information: drop them so memory stays bounded.
            self.buckets = {
                k: v for k, v in self.buckets.items() if v[0] + (now - v[1]) * self.rate < self.capacity
            }
            self.last_sweep = now
        tokens, stamp = self.buckets.get(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
        if tokens < 1:
            self.buckets[client] = (tokens, now)
            return (1 - tokens) / self.rate
        self.buckets[client] = (tokens - 1, now)
        return None


def public_rate_limit(limiter: RateLimiter) -> Any:
    """Middleware for the public verification routes: 429 problem details with Retry-After."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            client = (scope.get("client") or ("unknown", 0))[0]
            wait = limiter.take(client)
            if wait is None:
                await app(scope, receive, send)
                return
            await _too_many(send, str(max(1, math.ceil(wait))))

        return middleware

    return factory


async def _too_many(send: Send, retry_after: str) -> None:
    body = msgspec.json.encode(
        {
            "type": "about:blank",
            "status": 429,
            "title": "Too many requests",
            "detail": f"Too many verification requests from this address; retry in {retry_after} s.",
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"retry-after", retry_after.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
