"""Rendering off the event loop.

A certificate takes milliseconds of pure-Python CPU; done on the event loop it would stall every other
request, and in a thread it would still fight the loop for the GIL. By default it runs in a separate
process (spawned, not forked: the parent has threads); `processes=0` renders in a worker thread instead.
"""

import asyncio
import concurrent.futures
import multiprocessing
from concurrent.futures.process import BrokenProcessPool

from service.certificates.content import CertificateContent
from service.certificates.pdf import render_certificate


class PdfRenderer:
    def __init__(self, processes: int = 1) -> None:
        self._processes = processes
        self._pool: concurrent.futures.Executor | None = None

    def _new_pool(self) -> concurrent.futures.Executor:
        if self._processes == 0:
            return concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf")
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=self._processes, mp_context=multiprocessing.get_context("spawn")
        )

    async def start(self, warm_up: CertificateContent | None = None) -> None:
        self._pool = self._new_pool()
        if warm_up is not None:
            # Import reportlab and load the fonts now, not in the first attendee's request.
            await self.render(warm_up)

    async def render(self, content: CertificateContent) -> bytes:
        assert self._pool is not None, "renderer is not started"
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, render_certificate, content)
        except BrokenProcessPool:
            # A killed worker breaks the pool for good; start a fresh one and try once more.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return await loop.run_in_executor(self._pool, render_certificate, content)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
