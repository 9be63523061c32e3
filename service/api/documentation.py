"""What the OpenAPI document says beyond what Litestar infers from the handlers' types.

Litestar documents one media type per response and no response headers for error statuses; these
operation classes add the rest (the verification page's HTML, the PDF, WWW-Authenticate, Retry-After),
so that the document describes every answer the service actually gives.
"""

from dataclasses import dataclass
from typing import Any

from litestar.openapi.spec import OpenAPIHeader, OpenAPIMediaType, OpenAPIResponse, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIType

HTML = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, content_media_type="text/html"))
PDF = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, content_media_type="application/pdf"))

WWW_AUTHENTICATE = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING),
    description='The bearer challenge, e.g. `Bearer realm="certledger"`.',
    required=True,
)
RETRY_AFTER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING, pattern=r"^[0-9]+$"),
    description="Seconds to wait before trying again.",
    required=True,
)
CONTENT_DISPOSITION = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING),
    description='`attachment; filename="certificate-<serial>.pdf"`.',
    required=True,
)


def documented(
    *,
    content: dict[str, dict[str, OpenAPIMediaType]] | None = None,
    replace_content: dict[str, dict[str, OpenAPIMediaType]] | None = None,
    headers: dict[str, dict[str, OpenAPIHeader]] | None = None,
    drop: tuple[str, ...] = (),
) -> type[Operation]:
    """An Operation class that adds media types (`content`), swaps them (`replace_content`) and adds
    headers, each keyed by status code, and drops responses the route never gives (Litestar documents
    a 400 for every route with parameters); statuses the operation does not document are left alone."""

    @dataclass
    class DocumentedOperation(Operation):
        def __post_init__(self) -> None:
            responses: dict[str, Any] = self.responses or {}
            for status in drop:
                responses.pop(status, None)
            for status, media in (content or {}).items():
                if isinstance(response := responses.get(status), OpenAPIResponse):
                    response.content = {**(response.content or {}), **media}
            for status, media in (replace_content or {}).items():
                if isinstance(response := responses.get(status), OpenAPIResponse):
                    response.content = dict(media)
            for status, named in (headers or {}).items():
                if isinstance(response := responses.get(status), OpenAPIResponse):
                    response.headers = {**(response.headers or {}), **named}

    return DocumentedOperation


# Every API operation: 401 carries the bearer challenge; 503 (writes) says when to retry.
API_OPERATION = documented(
    headers={"401": {"WWW-Authenticate": WWW_AUTHENTICATE}, "503": {"Retry-After": RETRY_AFTER}}
)
