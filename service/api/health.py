"""Liveness for load balancers and the benchmark's baseline."""

import msgspec
from litestar import get


class Health(msgspec.Struct):
    status: str = "ok"


@get("/healthz", sync_to_thread=False, summary="Liveness", tags=["health"])
def healthz() -> Health:
    return Health()


routes = [healthz]
