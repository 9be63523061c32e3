"""The render process behind PdfRenderer: the same bytes as rendering in-process, and it survives what
happens to processes and callers (killed, stuck, failing content, a caller that gives up, shutdown), on
asyncio's loop and on uvloop, which the server runs."""

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Callable

import msgspec
import pytest

from service.certificates import renderer as renderer_module
from service.certificates.content import sample_certificate
from service.certificates.pdf import render_certificate
from service.certificates.renderer import PdfRenderer, RenderFailed, RenderUnavailable
from tests.support import render_process_ids

FIRST = sample_certificate()
SECOND = msgspec.structs.replace(FIRST, serial="CL-SECOND-0000-0001", holder_name="Έλενα Παπαδοπούλου")


@pytest.fixture(
    params=[
        pytest.param(("asyncio", {}), id="asyncio"),
        pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, bool]]:
    return request.param


pytestmark = pytest.mark.anyio


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting until {what}"
        await asyncio.sleep(0.01)


@pytest.fixture
async def renderer() -> AsyncIterator[PdfRenderer]:
    renderer = PdfRenderer(processes=1)
    await renderer.start()
    try:
        yield renderer
    finally:
        await renderer.close()


async def test_the_render_process_gives_the_same_bytes_as_rendering_here(renderer: PdfRenderer) -> None:
    first, second = await asyncio.gather(renderer.render(FIRST), renderer.render(SECOND))

    assert first == render_certificate(FIRST)
    assert second == render_certificate(SECOND)
    assert first != second


@pytest.mark.parametrize("noticed", [False, True], ids=["at-once", "after-the-loop-noticed"])
async def test_a_killed_render_process_is_replaced_and_the_certificate_still_rendered(
    renderer: PdfRenderer, noticed: bool
) -> None:
    (killed,) = render_process_ids()
    os.kill(killed, signal.SIGKILL)
    if noticed:
        # The loop reaps the process and closes its pipes: a later render finds them closed.
        await until(lambda: killed not in render_process_ids(zombies=True), "the killed process was reaped")
        await asyncio.sleep(0.05)

    assert await renderer.render(FIRST) == render_certificate(FIRST)
    assert await renderer.render(SECOND) == render_certificate(SECOND)
    assert len(render_process_ids()) == 1


async def test_a_stuck_render_process_is_replaced(
    renderer: PdfRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(renderer_module, "RENDER_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(renderer_module, "_STOP_SECONDS", 0.2)
    (stuck,) = render_process_ids()
    os.kill(stuck, signal.SIGSTOP)

    assert await renderer.render(FIRST) == render_certificate(FIRST)
    assert stuck not in render_process_ids()


async def test_when_no_working_process_can_be_had_it_is_unavailable_and_recovers_later(
    renderer: PdfRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    (killed,) = render_process_ids()
    os.kill(killed, signal.SIGKILL)
    monkeypatch.setattr("sys.executable", "/bin/false")  # starts, and exits at once

    with pytest.raises(RenderUnavailable, match="twice"):
        await renderer.render(FIRST)
    monkeypatch.setattr("sys.executable", "/nonexistent/python3")
    with pytest.raises(RenderUnavailable, match="could not start"):
        await renderer.render(FIRST)
    monkeypatch.undo()

    assert await renderer.render(FIRST) == render_certificate(FIRST)


async def test_content_it_cannot_render_fails_that_render_only(renderer: PdfRenderer) -> None:
    broken = msgspec.structs.replace(FIRST, delivery="by carrier pigeon")

    with pytest.raises(RenderFailed, match=r"(?s)Traceback.*unknown delivery"):
        await renderer.render(broken)
    assert await renderer.render(SECOND) == render_certificate(SECOND)


async def test_a_caller_that_gives_up_leaves_no_answer_behind_for_the_next(renderer: PdfRenderer) -> None:
    abandoned = asyncio.create_task(renderer.render(FIRST))
    await asyncio.sleep(0)
    abandoned.cancel()

    assert await renderer.render(SECOND) == render_certificate(SECOND)
    assert abandoned.cancelled()


async def test_close_lets_the_render_in_hand_finish_then_ends_the_render_process() -> None:
    before = render_process_ids()
    renderer = PdfRenderer(processes=1)
    await renderer.start(warm_up=FIRST)
    assert len(render_process_ids() - before) == 1
    in_hand = asyncio.create_task(renderer.render(SECOND))
    await asyncio.sleep(0)

    await renderer.close()

    assert await in_hand == render_certificate(SECOND)
    assert render_process_ids() == before
    with pytest.raises(RenderUnavailable):
        await renderer.render(FIRST)


async def test_a_render_process_that_cannot_start_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.executable", "/nonexistent/python3")
    renderer = PdfRenderer(processes=1)

    with pytest.raises(RenderUnavailable, match="could not start"):
        await renderer.start()
