"""`pip install .` (not editable) must give a working service: templates, fonts and migrations ship inside."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from service.settings import load_settings
from tests.support import ROOT, Service, attendee, base_env, free_port

SHIPPED = [
    "service/templates/verify.html",
    "service/templates/verify_invalid.html",
    "service/templates/static/certledger.css",
    "service/certificates/fonts/DejaVuSans.ttf",
    "service/certificates/fonts/DejaVuSerif-Bold.ttf",
    "service/ledger/schema/001_initial.sql",
]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("certledger-*.whl")
    return built


def test_wheel_carries_templates_fonts_and_migrations(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in SHIPPED if name not in names]
    assert not missing
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "certledger = service.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_service_runs_from_the_installed_wheel_alone(wheel: Path, tmp_path: Path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    port = free_port()
    env = {**os.environ, **base_env(tmp_path), "PYTHONPATH": str(site)}
    server = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for(url, server)
        with httpx.Client(base_url=url, timeout=30) as http:
            service = Service(http, load_settings(base_env(tmp_path)))
            session = service.session(facilitators=["Jane"])
            service.attendees(session["id"], [attendee("Анна", "a@x.org")])
            certificate = service.ask(email="a@x.org", facilitator=None)["certificate"]
            assert service.intake.get(certificate["pdf_url"]).content.startswith(b"%PDF")
            page = service.verify(certificate["verify_url"], accept="text/html")
            assert page.status_code == 200 and "Valid certificate" in page.text
            assert http.get("/static/certledger.css").status_code == 200
        loaded = subprocess.run(
            [sys.executable, "-c", "import service; print(service.__file__)"],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert loaded.stdout.startswith(str(site))
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_for(url: str, server: subprocess.Popen) -> None:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server from the wheel exited"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the server from the wheel did not start")
