"""Rendering off the event loop.

A certificate takes milliseconds of pure-Python CPU; done on the event loop it would stall every other
request, and in a thread it would still fight the loop for the GIL. By default it runs in a render
process (`render_worker`) that the event loop talks to through its stdin and stdout pipes: no threads
in between, so a render costs its CPU time plus two pipe hops. (ProcessPoolExecutor, used before, passes
each job through a feeder thread and each result through a manager thread: about a millisecond more per
certificate on this 2-core machine, scripts/bench.py.) `processes=0` renders in a worker thread instead,
for tests that run the app in-process.
"""

import asyncio
import concurrent.futures
import contextlib
import os
import sys

import msgspec

from service.certificates.content import CertificateContent
from service.certificates.pdf import render_certificate
from service.certificates.render_worker import HEADER, OK, frame

_STOP_SECONDS = 5.0


class RenderUnavailable(Exception):
    """No render process could be started or kept alive to render a certificate."""


class RenderFailed(Exception):
    """The render process could not render this content (the reason is its error's text)."""


class _RenderProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    @classmethod
    async def spawn(cls) -> "_RenderProcess":
        # The worker imports this package from where the server found it.
        path = os.pathsep.join(entry for entry in sys.path if entry)
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "service.certificates.render_worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": path},
            )
        except OSError as exc:
            raise RenderUnavailable(f"could not start the render process: {exc}") from exc
        return cls(process)

    async def exchange(self, request: bytes) -> bytes:
        """Send one request, read its answer; ConnectionError when the process is gone."""
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(frame(request))
            await stdin.drain()
            (length,) = HEADER.unpack(await stdout.readexactly(HEADER.size))
            answer = await stdout.readexactly(length)
        except asyncio.IncompleteReadError as exc:
            raise ConnectionResetError("the render process exited") from exc
        if answer[:1] != OK:
            raise RenderFailed(answer[1:].decode(errors="replace"))
        return answer[1:]

    async def stop(self) -> None:
        """Close its stdin (it exits after the render in hand), kill it if it lingers."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), _STOP_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()


class PdfRenderer:
    def __init__(self, processes: int = 1) -> None:
        self._processes = processes
        self._thread: concurrent.futures.ThreadPoolExecutor | None = None
        self._idle: asyncio.Queue[_RenderProcess] = asyncio.Queue()
        self._all: list[_RenderProcess] = []
        self._encode = msgspec.msgpack.Encoder().encode
        self._closed = False

    async def start(self, warm_up: CertificateContent | None = None) -> None:
        if self._processes == 0:
            self._thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf")
        for _ in range(self._processes):
            process = await _RenderProcess.spawn()
            self._all.append(process)
            self._idle.put_nowait(process)
        if warm_up is not None:
            # Import reportlab and load the fonts now, not in the first attendees' requests.
            await asyncio.gather(*(self.render(warm_up) for _ in range(max(1, self._processes))))

    async def render(self, content: CertificateContent) -> bytes:
        if self._thread is not None:
            return await asyncio.get_running_loop().run_in_executor(self._thread, render_certificate, content)
        process = await self._idle.get()
        # Shielded: a caller that gives up must not leave an answer unread in the pipe for the next one.
        return await asyncio.shield(self._render_in(process, self._encode(content)))

    async def _render_in(self, process: _RenderProcess, request: bytes) -> bytes:
        try:
            return await process.exchange(request)
        except ConnectionError:
            if self._closed:
                raise RenderUnavailable("the renderer is shutting down") from None
            # The process died (killed, out of memory): start a fresh one and try once more.
            await process.stop()
            process = await self._replace(process)
            try:
                return await process.exchange(request)
            except ConnectionError as exc:
                raise RenderUnavailable("the render process exited twice in a row") from exc
        finally:
            self._idle.put_nowait(process)

    async def _replace(self, dead: _RenderProcess) -> _RenderProcess:
        fresh = await _RenderProcess.spawn()
        self._all[self._all.index(dead)] = fresh
        return fresh

    async def close(self) -> None:
        self._closed = True
        if self._thread is not None:
            thread, self._thread = self._thread, None
            await asyncio.to_thread(thread.shutdown, wait=True, cancel_futures=True)
        processes, self._all = self._all, []
        await asyncio.gather(*(process.stop() for process in processes))
