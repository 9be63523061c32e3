"""RFC 9457 problem details for every error under /api/ (and for unknown routes).

The verification routes (/v/..., /verify/...) answer in their own shapes instead (SPEC §3), except 429.
A validation error says which field was wrong; a body that is not JSON is a 400, one that breaks a rule
a 422 (SPEC §3), one declared as another media type a 415, one over the size limit a 413. A query
parameter the route does not take is a 422 too. Nothing unexpected ever reaches the client as a traceback.
The OpenAPI side (ProblemDetails, problem_responses) documents exactly these answers.
"""

import functools
import logging
import re
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.enums import ParamType
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import ParameterKwarg
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from service.certificates.renderer import RenderUnavailable
from service.ledger.database import LedgerUnavailable

PROBLEM_JSON = "application/problem+json"
# Temporary failures of a part the service needs (a 503 with Retry-After), as the client is told.
_UNAVAILABLE: dict[type[Exception], str] = {
    LedgerUnavailable: "The ledger cannot record changes right now; nothing was changed. Please try again later.",
    RenderUnavailable: "Certificates cannot be made right now; nothing was recorded. Please try again later.",
}
log = logging.getLogger("certledger")

_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}
_PHRASES = {s.value for s in HTTPStatus}
_ROW = re.compile(r"^attendees\[(\d+)\]")
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(.*)`$", re.DOTALL)
_MISSING_FIELD = re.compile(r"^Object missing required field `(.*)`$", re.DOTALL)
JSON_MEDIA_TYPES = ("application/json",)
_JSON_KINDS = {"array": "a list", "null": "null", "str": "a string", "int": "a number", "float": "a number"}


class FieldError(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One field at fault: `attendees[3].email`, and for attendee lists the 1-based `row`."""

    field: str
    message: str
    row: int | None = None


class ProblemDetails(msgspec.Struct, kw_only=True, omit_defaults=True):
    """RFC 9457 problem details, the shape of every error under /api/ (and of 429 everywhere)."""

    type: str = "about:blank"
    status: int
    title: str
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


_RESPONSE_DESCRIPTIONS = {
    400: "The request cannot be read: a body that is not JSON, an empty body, or JSON nested too deeply.",
    401: "No API token, or an unknown or revoked one: send `Authorization: Bearer <token>`.",
    403: "The token's role, or the levels granted to a facilitator, do not allow this.",
    404: "Nothing with that id that this token can see.",
    409: "The request conflicts with what the ledger holds.",
    413: "The request body is larger than the service accepts.",
    415: "The request body is not JSON: send `Content-Type: application/json`.",
    422: "The request breaks a rule; `errors` names each field at fault (and, in lists, the row).",
    429: "Too many requests from this address; `Retry-After` says when to try again.",
    503: "The ledger cannot record changes right now; nothing was changed. Retry later.",
}
_EXAMPLES = {
    401: {"detail": "Send an API token as 'Authorization: Bearer <token>'."},
    404: {"detail": "There is no session 'ses_0123456789abcdef' that this token can see."},
    422: {
        "detail": "row 2: attendees[1].email: is not a valid email address",
        "errors": [{"field": "attendees[1].email", "message": "is not a valid email address", "row": 2}],
    },
}


class Problem(HTTPException):
    """An error answered as problem details; `errors` names the fields at fault."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=detail, status_code=status_code, headers=headers)
        self.title = title or _TITLES.get(status_code, "Error")
        self.errors = errors


def problem_responses(*statuses: int, **descriptions: str) -> dict[int, ResponseSpec]:
    """OpenAPI response specs for these error statuses; `descriptions` (`not_found=…`) refine the defaults."""
    specific = {
        400: descriptions.get("bad_request"),
        404: descriptions.get("not_found"),
        409: descriptions.get("conflict"),
    }
    specs = {}
    for status in statuses:
        example = {"type": "about:blank", "status": status, "title": _TITLES[status], "detail": ""}
        example.update(_EXAMPLES.get(status, {"detail": _RESPONSE_DESCRIPTIONS[status]}))
        specs[status] = ResponseSpec(
            data_container=ProblemDetails,
            media_type=PROBLEM_JSON,
            description=specific.get(status) or _RESPONSE_DESCRIPTIONS[status],
            generate_examples=False,
            examples=[Example(summary=_TITLES[status], value=example)],
        )
    return specs


_RESERVED_KWARGS = {"request", "data", "state", "scope", "headers", "cookies", "query", "body", "socket"}


def _query_names(request: Request[Any, Any, Any]) -> set[str]:
    """The query parameters the route handler declares."""
    declared = set()
    for name, field in request.route_handler.parsed_fn_signature.parameters.items():
        kwarg = field.kwarg_definition
        if isinstance(kwarg, ParameterKwarg) and kwarg.param_type == ParamType.QUERY:
            declared.add(kwarg.name or name)
        elif kwarg is None and name not in _RESERVED_KWARGS and name not in request.path_params:
            declared.add(name)
    return declared


async def check_api_request(request: Request[Any, Any, Any]) -> None:
    """The API router's before_request hook: a query parameter the route does not know is a 422 naming
    it (a typo such as ?stauts=pending must not quietly answer for every status)."""
    known = _query_names(request)
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        errors = [
            _error(name, "is not a query parameter of this route (check the spelling)") for name in unknown
        ]
        allowed = ", ".join(sorted(known)) or "none"
        raise Problem(
            HTTP_422_UNPROCESSABLE_ENTITY,
            "; ".join(f"{e['field']}: {e['message']}" for e in errors) + f". This route takes: {allowed}.",
            errors=errors,
        )


async def require_json_body(request: Request[Any, Any, Any]) -> None:
    """The before_request hook of JSON-body routes (it replaces the router's, so it runs that one too):
    a body declared as something else is a 415, an empty one a 400, each saying what to send."""
    await check_api_request(request)
    content_type = request.headers.get("content-type")
    if content_type is not None:
        media_type = content_type.partition(";")[0].strip().lower()
        if media_type not in JSON_MEDIA_TYPES and not (
            media_type.startswith("application/") and media_type.endswith("+json")
        ):
            declared = f", not {media_type!r}" if media_type else ""
            raise Problem(415, f"The request body must be JSON (Content-Type: application/json){declared}.")
    body = await request.body()
    if not body.strip():
        raise Problem(HTTP_400_BAD_REQUEST, "The request body is empty; send a JSON object.")
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return
    decoder = _strict_decoder(data.annotation)
    # Litestar converts bodies leniently ("90" would pass for 90, "1" for true); the ledger records what
    # was meant, so the body must have the documented JSON types. Litestar then parses it again.
    try:
        decoder.decode(body)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `$")
        errors = [_field_error(path.rstrip("`").lstrip("."), message)]
        raise Problem(HTTP_422_UNPROCESSABLE_ENTITY, _describe(errors), errors=errors) from exc
    except msgspec.DecodeError as exc:
        reason = str(exc).removeprefix("JSON is malformed: ")
        raise Problem(HTTP_400_BAD_REQUEST, f"The request body is not valid JSON: {reason}.") from exc
    except UnicodeDecodeError as exc:
        # Litestar's own decoding lets this one through as a 500; it is the client's bytes.
        raise Problem(HTTP_400_BAD_REQUEST, "The request body is not valid UTF-8 JSON.") from exc
    except RecursionError as exc:
        raise Problem(HTTP_400_BAD_REQUEST, "The request body is nested too deeply to be read.") from exc


@functools.cache
def _strict_decoder(data_type: Any) -> msgspec.json.Decoder[Any]:
    """A strict JSON decoder for a handler's `data` type (one per type)."""
    return msgspec.json.Decoder(data_type)


def field_error(field: str, message: str) -> Problem:
    return Problem(HTTP_422_UNPROCESSABLE_ENTITY, f"{field}: {message}", errors=[_error(field, message)])


def _error(field: str, message: str) -> dict[str, Any]:
    error: dict[str, Any] = {"field": field, "message": message}
    if row := _ROW.match(field):
        error["row"] = int(row.group(1)) + 1
    return error


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": "about:blank", "status": status, "title": title, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _plain_message(field: str, message: str) -> str:
    """msgspec's messages are for programmers; say what a person can fix."""
    name = field.rsplit(".", 1)[-1]
    if field == "body" and message.startswith("Expected `object`, got `"):
        got = message.removeprefix("Expected `object`, got `").rstrip("`")
        return f"must be a JSON object, not {_JSON_KINDS.get(got, got)}"
    if message.startswith("Expected `bool"):
        return "must be true or false"
    if message.startswith("Expected `str` matching regex"):
        if name == "email":
            return "is not a valid email address"
        if name == "start_time":
            return "must be a local time written HH:MM (00:00 to 23:59)"
        return "must be printable text without control characters, and not blank"
    if "RFC3339 encoded date" in message:
        return "must be a real calendar date written YYYY-MM-DD"
    return message


def _validation_problem(exc: ValidationException) -> tuple[int, str, list[dict[str, Any]]]:
    messages = exc.extra if isinstance(exc.extra, list) else []
    errors = []
    syntax = False
    for item in messages:
        if not isinstance(item, dict):
            continue
        key, message = str(item.get("key", "")), str(item.get("message", "invalid value"))
        syntax = syntax or "malformed" in message.lower()
        errors.append(_field_error(key.replace("data.", "", 1) if key and key != "data" else "", message))
    # A body that is not JSON normally arrives as a ClientException; this catches any that does not.
    if not errors or syntax:
        return HTTP_400_BAD_REQUEST, "The request body is not valid JSON.", errors
    return HTTP_422_UNPROCESSABLE_ENTITY, _describe(errors), errors


def _field_error(path: str, message: str) -> dict[str, Any]:
    """An error entry from msgspec's message about `path` ("" for the whole body)."""
    field = path or "body"
    if unknown := _UNKNOWN_FIELD.match(message):
        # Name the unexpected key itself, so that a typo ("levle") is the field the answer points at.
        name = unknown.group(1)
        field = name if field == "body" else f"{field}.{name}"
        message = "is not a field of this request (check the spelling)"
    elif missing := _MISSING_FIELD.match(message):
        name = missing.group(1)
        field = name if field == "body" else f"{field}.{name}"
        message = "is required"
    return _error(field, _plain_message(field, message))


def _describe(errors: list[dict[str, Any]]) -> str:
    return "; ".join(
        (f"row {e['row']}: " if "row" in e else "") + f"{e['field']}: {e['message']}" for e in errors
    )


def _http_detail(request: Request[Any, Any, Any], exc: HTTPException) -> str:
    """Litestar's own exceptions say only the status phrase; say what happened instead."""
    status = exc.status_code
    generic = {"", _TITLES.get(status, ""), HTTPStatus(status).phrase if status in _PHRASES else ""}
    if exc.detail not in generic:
        return exc.detail
    if status == 404:
        return f"There is nothing at {request.url.path!r}."
    if status == 405:
        allowed = (exc.headers or {}).get("allow") or (exc.headers or {}).get("Allow")
        return f"{request.method} is not allowed here" + (f"; allowed: {allowed}." if allowed else ".")
    if status == 413:
        limit = request.app.request_max_body_size
        return "The request body is too large" + (f" (at most {limit} bytes)." if limit else ".")
    return _TITLES.get(status, HTTPStatus(status).phrase if status in _PHRASES else "Error")


def handle_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The one exception handler of the app: maps every exception to its answer."""
    if isinstance(exc, Problem):
        return problem_response(
            exc.status_code,
            exc.title,
            exc.detail,
            errors=exc.errors,
            headers=exc.headers,
            instance=request.url.path,
        )
    if isinstance(exc, ValidationException):
        status, detail, errors = _validation_problem(exc)
        return problem_response(status, _TITLES[status], detail, errors=errors, instance=request.url.path)
    if isinstance(exc, HTTPException):
        status = exc.status_code
        return problem_response(
            status,
            _TITLES.get(status, "Error"),
            _http_detail(request, exc),
            headers=exc.headers,
            instance=request.url.path,
        )
    if isinstance(exc, RecursionError):
        # msgspec refuses JSON nested deeper than the interpreter's recursion limit this way.
        log.warning("refused a deeply nested body on %s %s", request.method, request.url.path)
        return problem_response(
            HTTP_400_BAD_REQUEST,
            _TITLES[400],
            "The request body is nested too deeply to be read.",
            instance=request.url.path,
        )
    unavailable = next((text for kind, text in _UNAVAILABLE.items() if isinstance(exc, kind)), None)
    if unavailable is not None:
        log.error("%s: %s", type(exc).__name__, exc)
        return problem_response(
            HTTP_503_SERVICE_UNAVAILABLE, _TITLES[503], unavailable, headers={"Retry-After": "30"}
        )
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem_response(
        HTTP_500_INTERNAL_SERVER_ERROR,
        _TITLES[500],
        "Something went wrong on our side. It has been logged; please try again later.",
    )
