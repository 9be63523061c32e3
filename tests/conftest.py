"""Fixtures that start real things: a SQLite file in a temporary directory, the app over ASGI,
and the real server on a free port."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.settings import Settings, load_settings
from tests.support import LiveServer, Service, base_env


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return base_env(tmp_path)


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return load_settings(env)


@pytest.fixture
def service(settings: Settings) -> Iterator[Service]:
    with TestClient(create_app(settings, render_processes=0)) as client:
        yield Service(client, settings)


@pytest.fixture
def live_server(env: dict[str, str]) -> Iterator[LiveServer]:
    server = LiveServer(env)
    try:
        yield server
    finally:
        server.stop()
