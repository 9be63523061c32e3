"""create_app(settings): routes, middleware, lifespan. Nothing else."""

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from litestar import Litestar, Request, Response, Router
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from service.api import certificates, health, pdf_check, reports, requests, sessions, verification
from service.api.auth import BearerTokenMiddleware
from service.api.middleware import RateLimiter, add_security_headers, public_rate_limit
from service.api.problems import check_api_request, handle_problem
from service.certificates.content import sample_certificate
from service.certificates.links import LinkSigner
from service.certificates.renderer import PdfRenderer
from service.desk import CertificateDesk, utc_clock
from service.ledger.answers import CertificateAnswers
from service.ledger.database import Ledger
from service.portal.router import portal_router
from service.resources import templates_dir
from service.settings import Settings, load_settings

API_VERSION = "1.0.0"
MAX_BODY_BYTES = 2 * 1024 * 1024
SWEEP_INTERVAL_SECONDS = 3600
log = logging.getLogger("certledger")


def _handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, NotFoundException) and verification.is_verification_path(request.url.path):
        return verification.invalid_answer(request)
    return handle_problem(request, exc)


async def _sweep_periodically(desk: CertificateDesk) -> None:
    while True:
        try:
            await desk.keep_current("system:sweep")
        except Exception:
            log.exception("the sweep of pending requests failed; it runs again later")
        await asyncio.sleep(SWEEP_INTERVAL_SECONDS)


def create_app(
    settings: Settings | None = None,
    *,
    render_processes: int = 1,
    clock: Callable[[], dt.datetime] = utc_clock,
) -> Litestar:
    """The app; `render_processes=0` renders PDFs in a thread, `clock` lets tests move time."""
    settings = settings or load_settings()
    ledger = Ledger(settings.db_path, settings.ledger_key, settings.max_page_count)
    signer = LinkSigner(settings.secret_keys, settings.base_url)
    renderer = PdfRenderer(render_processes)
    desk = CertificateDesk(ledger, signer, renderer, settings.issuer_name, clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await ledger.open()
        app.state.verifications = CertificateAnswers(ledger.lookup, ledger.commits)
        try:
            await renderer.start(
                warm_up=sample_certificate(
                    issuer=settings.issuer_name,
                    timezone=settings.timezone,
                    verify_url=f"{settings.base_url}/v/warm-up",
                )
            )
            sweep = asyncio.create_task(_sweep_periodically(desk))
            try:
                yield
            finally:
                sweep.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweep
                await renderer.close()
        finally:
            await ledger.close()

    public = Router(
        "/",
        route_handlers=[*verification.routes, *pdf_check.routes],
        middleware=[public_rate_limit(RateLimiter(settings.public_rate_limit))]
        if settings.public_rate_limit
        else [],
    )
    api = Router(
        "/api/v1",
        route_handlers=[*sessions.routes, *reports.routes, *requests.routes, *certificates.routes],
        middleware=[BearerTokenMiddleware],
        before_request=check_api_request,
        security=[{"bearer": []}],
    )
    return Litestar(
        route_handlers=[
            *health.routes,
            api,
            public,
            portal_router(),
            create_static_files_router(
                path="/static", directories=[templates_dir() / "static"], include_in_schema=False
            ),
        ],
        state=State({"settings": settings, "ledger": ledger, "desk": desk, "signer": signer}),
        lifespan=[lifespan],
        before_send=[add_security_headers],
        exception_handlers={Exception: _handle_exception},
        template_config=TemplateConfig(directory=templates_dir(), engine=JinjaTemplateEngine),
        openapi_config=OpenAPIConfig(
            title="certledger",
            version=API_VERSION,
            description="Certificate and attendance ledger for IPS co-reflection sessions.",
            path="/schema",
            render_plugins=[JsonRenderPlugin()],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="An API token issued by staff (`certledger` CLI); its role is admin, "
                        "facilitator or intake.",
                    )
                }
            ),
        ),
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,
    )


def app_from_environment() -> Litestar:
    """The app for each worker process of `certledger serve --workers N` (uvicorn's factory)."""
    return create_app()
