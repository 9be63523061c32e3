"""The certledger API as the intake uses it: sessions by date, certificate requests, PDFs, follow-ups.

The intake is a client like any other (SPEC §4): it talks HTTP with an intake token. A connection
failure, a timeout or a 5xx means "try this message again on the next run", never a lost message.
"""

import datetime as dt
from typing import Any

import httpx


class ApiUnavailable(Exception):
    """The API could not answer now (down, timing out, 5xx, 429): leave the message for the next run."""


class ApiRefused(Exception):
    """The API refused this one call (422, 409): something in this message it cannot take."""


class ApiMisconfigured(Exception):
    """The API refuses the intake itself (401, 403, 404: a wrong token or --api): no message can be
    handled until the operator fixes it, and none may be counted as handled meanwhile."""


class Api:
    """Requests and PDFs may be asked from several threads at once: httpx's Client is documented as
    shareable between threads, and its pool keeps a keep-alive connection for each one in flight.
    `sessions_on` (its cache) belongs to one thread."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "User-Agent": "certledger-intake"},
            timeout=timeout,
        )
        self._sessions: dict[dt.date, list[dict[str, Any]]] = {}

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiUnavailable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise ApiUnavailable(f"{method} {url}: HTTP {response.status_code}")
        if response.status_code in (401, 403, 404):
            raise ApiMisconfigured(
                f"the API at {self._http.base_url} answered {method} {url} with HTTP {response.status_code}:"
                " check --api and the intake token"
            )
        if response.status_code >= 400:
            detail = " ".join(response.text[:300].split())
            raise ApiRefused(f"{method} {url}: HTTP {response.status_code}: {detail}")
        return response

    def sessions_on(self, date: dt.date) -> list[dict[str, Any]]:
        """The sessions of a date (cached for the run: sessions are not edited)."""
        if date not in self._sessions:
            found = self._call("GET", "/api/v1/sessions", params={"date": date.isoformat()}).json()
            self._sessions[date] = found["sessions"]
        return self._sessions[date]

    def request_certificate(
        self,
        *,
        email: str,
        date: dt.date,
        facilitator: str | None,
        start_time: str | None,
        message_id: str,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "email": email,
            "date": date.isoformat(),
            "facilitator": facilitator,
            "message_id": message_id,
        }
        if start_time is not None:
            body["start_time"] = start_time
        return self._call("POST", "/api/v1/certificate-requests", json=body).json()

    def pdf(self, pdf_url: str) -> bytes:
        return self._call("GET", pdf_url).content

    def decided_untold(self) -> list[dict[str, Any]]:
        response = self._call(
            "GET", "/api/v1/certificate-requests", params={"status": "decided", "notified": "false"}
        )
        return response.json()["requests"]

    def mark_notified(self, request_id: str, outcome: str) -> None:
        """Told `outcome`: if the request changed again meanwhile, it stays listed for another reply."""
        self._call("POST", f"/api/v1/certificate-requests/{request_id}/notified", params={"outcome": outcome})
