"""The portal's Router: its pages, the cookie session, the CSRF check of every POST, and HTML errors.

Mounted at /portal by create_app. Its exception handler replaces the API's problem details with pages in
words for everything under /portal/, including an address that names no page.
"""

from typing import Any

from litestar import Request, Response, Router, get
from litestar.params import FromPath

from service.api.problems import Problem
from service.portal import account, sessions, staff
from service.portal.csrf import check_csrf
from service.portal.pages import handle_portal_error
from service.portal.sign_in import PortalSessionMiddleware


@get("/{rest:path}", name="portal:not-found", sync_to_thread=False)
def not_found(request: Request[Any, Any, Any], rest: FromPath[str]) -> Response[Any]:
    """Any other address under /portal/ is a page in words too, not the API's JSON."""
    raise Problem(404, f"There is no portal page {rest!r}.")


def portal_router() -> Router:
    return Router(
        "/portal",
        route_handlers=[*account.routes, *sessions.routes, *staff.routes, not_found],
        middleware=[PortalSessionMiddleware()],
        before_request=check_csrf,
        exception_handlers={Exception: handle_portal_error},
        include_in_schema=False,
    )
