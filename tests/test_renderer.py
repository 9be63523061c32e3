"""The render process behind PdfRenderer: the same bytes as rendering in-process, and it survives what
happens to processes and callers (killed, failing content, a caller that gives up, shutdown)."""

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import msgspec
import pytest

from service.certificates.content import sample_certificate
from service.certificates.pdf import render_certificate
from service.certificates.renderer import PdfRenderer, RenderFailed, RenderUnavailable

FIRST = sample_certificate()
pytestmark = pytest.mark.anyio
SECOND = msgspec.structs.replace(FIRST, serial="CL-SECOND-0000-0001", holder_name="Έλενα Παπαδοπούλου")


def children() -> set[int]:
    """This process's child processes."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid() and fields[0] != "Z":
                found.add(int(entry))
    return found


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


async def test_a_killed_render_process_is_replaced_and_the_certificate_still_rendered(
    renderer: PdfRenderer,
) -> None:
    before = children()
    assert len(before) == 1
    os.kill(before.pop(), signal.SIGKILL)

    assert await renderer.render(FIRST) == render_certificate(FIRST)
    assert len(children()) == 1


async def test_content_it_cannot_render_fails_that_render_only(renderer: PdfRenderer) -> None:
    broken = msgspec.structs.replace(FIRST, delivery="by carrier pigeon")

    with pytest.raises(RenderFailed, match="unknown delivery"):
        await renderer.render(broken)
    assert await renderer.render(SECOND) == render_certificate(SECOND)


async def test_a_caller_that_gives_up_leaves_no_answer_behind_for_the_next(renderer: PdfRenderer) -> None:
    abandoned = asyncio.create_task(renderer.render(FIRST))
    await asyncio.sleep(0)
    abandoned.cancel()

    assert await renderer.render(SECOND) == render_certificate(SECOND)
    assert abandoned.cancelled()


async def test_close_ends_the_render_process() -> None:
    before = children()
    renderer = PdfRenderer(processes=1)
    await renderer.start(warm_up=FIRST)
    assert len(children() - before) == 1

    await renderer.close()

    assert children() == before


async def test_a_render_process_that_cannot_start_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.executable", "/nonexistent/python3")
    renderer = PdfRenderer(processes=1)

    with pytest.raises(RenderUnavailable, match="could not start"):
        await renderer.start()
