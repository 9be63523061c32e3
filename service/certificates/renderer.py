"""Rendering off the event loop.

A certificate takes milliseconds of pure-Python CPU; done on the event loop it would stall every other
request, and in a thread it would still fight the loop for the GIL. By default it runs in a render
process (`render_worker`) that the event loop talks to through its stdin and stdout pipes: no threads
in between, so a render costs its CPU time plus two pipe hops. (ProcessPoolExecutor, used before, passes
each job through a feeder thread and each result through a manager thread: about half a millisecond more
per certificate on this 2-core machine, scripts/bench.py.) `processes=0` renders in a worker thread
instead, for tests that run the app in-process.
"""

import asyncio
import concurrent.futures
import contextlib
import os
import sys
from typing import Self

import msgspec

from service.certificates.content import CertificateContent
from service.certificates.pdf import render_certificate
from service.certificates.render_worker import HEADER, OK, frame

# A certificate renders in milliseconds; a render process silent this long is stuck, and is replaced.
RENDER_TIMEOUT_SECONDS = 30.0
# A certificate is tens of kilobytes; a longer answer means the pipe no longer carries our frames.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
_STOP_SECONDS = 5.0


class RenderUnavailable(Exception):
    """No render process could be started or kept alive to render a certificate."""


class RenderFailed(Exception):
    """The render process could not render this content (the reason is its traceback)."""


class _RenderProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    @classmethod
    async def spawn(cls) -> Self:
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
        """Send one request, read its answer; ConnectionError when the process is gone or garbled,
        TimeoutError when it does not answer in time."""
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        # uvloop closes the pipe once it sees the process exit; writing then raises RuntimeError.
        if stdin.is_closing() or self._process.returncode is not None:
            raise ConnectionResetError("the render process has exited")
        try:
            async with asyncio.timeout(RENDER_TIMEOUT_SECONDS):
                stdin.write(frame(request))
                await stdin.drain()
                (length,) = HEADER.unpack(await stdout.readexactly(HEADER.size))
                if length > MAX_ANSWER_BYTES:
                    raise ConnectionAbortedError(f"the render process answered a frame of {length} bytes")
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
        # Renders whose callers stopped waiting still finish (see render); kept here until they do.
        self._running: set[asyncio.Task[bytes]] = set()
        self._encode = msgspec.msgpack.Encoder().encode
        self._started = self._closed = False

    async def start(self, warm_up: CertificateContent | None = None) -> None:
        if self._processes == 0:
            self._thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf")
        for _ in range(self._processes):
            process = await _RenderProcess.spawn()
            self._all.append(process)
            self._idle.put_nowait(process)
        self._started = True
        if warm_up is not None:
            # Import reportlab and load the fonts now, not in the first attendees' requests.
            await asyncio.gather(*(self.render(warm_up) for _ in range(max(1, self._processes))))

    async def render(self, content: CertificateContent) -> bytes:
        assert self._started, "renderer is not started"
        if self._closed:
            raise RenderUnavailable("the renderer is shut down")
        if self._thread is not None:
            return await asyncio.get_running_loop().run_in_executor(self._thread, render_certificate, content)
        request = self._encode(content)
        process = await self._idle.get()
        # Shielded: a caller that gives up must not leave an answer unread in the pipe for the next one.
        task = asyncio.ensure_future(self._render_in(process, request))
        self._running.add(task)
        task.add_done_callback(self._finished)
        return await asyncio.shield(task)

    def _finished(self, task: asyncio.Task[bytes]) -> None:
        self._running.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a caller that stopped waiting has nobody to tell

    async def _render_in(self, process: _RenderProcess, request: bytes) -> bytes:
        try:
            try:
                return await process.exchange(request)
            except (ConnectionError, TimeoutError):
                if self._closed:
                    raise RenderUnavailable("the renderer is shutting down") from None
                # The process died (killed, out of memory) or hangs: a fresh one tries once more.
                process = await self._replace(process)
                try:
                    return await process.exchange(request)
                except (ConnectionError, TimeoutError) as exc:
                    raise RenderUnavailable("the render process failed twice in a row") from exc
        finally:
            self._idle.put_nowait(process)

    async def _replace(self, broken: _RenderProcess) -> _RenderProcess:
        await broken.stop()
        fresh = await _RenderProcess.spawn()
        if self._closed:
            await fresh.stop()
            raise RenderUnavailable("the renderer is shutting down")
        self._all = [fresh if process is broken else process for process in self._all]
        return fresh

    async def close(self) -> None:
        self._closed = True
        if self._thread is not None:
            thread, self._thread = self._thread, None
            await asyncio.to_thread(thread.shutdown, wait=True, cancel_futures=True)
        # Renders in flight finish first (their callers may be gone), then the processes stop.
        await asyncio.gather(*self._running, return_exceptions=True)
        processes, self._all = self._all, []
        await asyncio.gather(*(process.stop() for process in processes))
