"""Signing in with a token, and signing out: the portal's front door at /portal/."""

from typing import Any

from litestar import Request, Response, get, post

from service.ledger.tokens import hash_token
from service.portal.pages import page, safe_next, see_other
from service.portal.sign_in import PORTAL_ROLES, end_session, new_session, principal_for_token, start_session

NOT_ACCEPTED = "That token is not valid (unknown or revoked). Check that you copied all of it."
WRONG_ROLE = "That is an email-intake token; the portal takes a facilitator's token or a staff (admin) token."


@get("/", name="portal:home")
async def home(request: Request[Any, Any, Any]) -> Response[Any]:
    """The sign-in form; someone already signed in goes straight to their sessions."""
    next_path = safe_next(request.query_params.get("next"))
    if request.scope.get("user") is not None:
        return see_other(next_path or "/portal/sessions")
    signed_out = request.query_params.get("signed_out") == "1"
    return page(request, "sign_in.html", next_path=next_path or "", errors={}, signed_out=signed_out)


@post("/sign-in", name="portal:sign-in")
async def sign_in(request: Request[Any, Any, Any]) -> Response[Any]:
    form = await request.form()
    token = form.get("token")
    next_path = safe_next(form.get("next"))
    principal = principal_for_token(request.app.state, token) if isinstance(token, str) else None
    error = None
    if not isinstance(token, str) or not token.strip():
        error = "Enter the token staff gave you."
    elif principal is None:
        error = NOT_ACCEPTED
    elif principal.role not in PORTAL_ROLES:
        error = WRONG_ROLE
    if error is not None or not isinstance(token, str):
        return page(
            request, "sign_in.html", status_code=400, next_path=next_path or "", errors={"token": error}
        )
    start_session(request, new_session(hash_token(token.strip())))
    return see_other(next_path or "/portal/sessions")


@post("/sign-out", name="portal:sign-out")
async def sign_out(request: Request[Any, Any, Any]) -> Response[Any]:
    """The cookie is deleted; the sign-in page then starts a new one that names nobody."""
    end_session(request)
    return see_other("/portal/", signed_out=1)


routes = [home, sign_in, sign_out]
