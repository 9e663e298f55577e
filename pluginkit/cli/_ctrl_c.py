"""Ctrl-C as an event a command awaits beside its work (``pluginkit chat``, ``pluginkit providers pull``).

A real SIGINT would raise ``KeyboardInterrupt`` wherever the loop happens to be; a command that must stop its work
cleanly (cancel a stream, close a pull) waits for this event instead. Where the loop takes no signal handlers
(Windows, a thread other than the main one) the event never fires, and Ctrl-C stays Python's default.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["ctrl_c"]

#: What ``add_signal_handler`` raises where the loop takes none.
_NO_SIGNALS = (NotImplementedError, RuntimeError, ValueError)


@contextlib.asynccontextmanager
async def ctrl_c() -> AsyncIterator[asyncio.Future[Any]]:
    """``async with ctrl_c() as pressed:`` — a task that ends when the user presses Ctrl-C (cancelled on exit)."""
    loop = asyncio.get_running_loop()
    interrupted = asyncio.Event()
    with contextlib.suppress(*_NO_SIGNALS):
        loop.add_signal_handler(signal.SIGINT, interrupted.set)
    pressed = asyncio.ensure_future(interrupted.wait())
    try:
        yield pressed
    finally:
        pressed.cancel()
        with contextlib.suppress(*_NO_SIGNALS):
            loop.remove_signal_handler(signal.SIGINT)
