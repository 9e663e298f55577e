"""Which exceptions out of plugin code belong to the host, and which are the plugin's to answer for.

A plugin may raise anything — ``SystemExit``, ``GeneratorExit``, ``KeyboardInterrupt``, a ``BaseException``
subclass of its own, ``asyncio.CancelledError`` from a sync hook — and each is contained like an ``Exception``:
an envelope for the caller, the plugin fused. Two exceptions are the host's and always propagate:

- **a real Ctrl-C**: the ``KeyboardInterrupt`` Python's SIGINT handler raised. While a manager exists in the main
  thread with Python's default SIGINT handler, that handler is wrapped so the exception it raises is remembered:
  a plugin cannot kill the host with a ``KeyboardInterrupt`` of its own, and one that swallows the real one sees
  it raised again when the call it was part of ends (:func:`interrupted_since`);
- **the caller's own cancellation**: a ``CancelledError`` while the running task is being cancelled
  (``task.cancelling()``), as ``asyncio.run`` does on Ctrl-C and ``wait_for`` on its time limit.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from types import FrameType

__all__ = ["belongs_to_host", "interrupted_since", "sigint_count", "watch_sigint"]

#: The ``KeyboardInterrupt`` the last real SIGINT raised (identity-checked: a plugin cannot fake this object).
_real_interrupt: BaseException | None = None
#: How many real SIGINTs arrived: a call reads it at its start and compares at its end (a module attribute, not a
#: function: it is read twice per call).
sigint_count = 0


def _sigint(signum: int, frame: FrameType | None) -> None:
    """Python's default SIGINT behaviour (raise ``KeyboardInterrupt``), remembering what it raised."""
    global _real_interrupt, sigint_count
    interrupt = KeyboardInterrupt()
    _real_interrupt = interrupt
    sigint_count += 1
    raise interrupt


def interrupted_since(token: int) -> None:
    """Raise the real Ctrl-C that arrived since ``token`` (a call's start) in the main thread, if any: a plugin that
    swallowed it does not keep the host from stopping. It is the same exception object, so one already on its way
    up simply goes on."""
    if token != sigint_count and _real_interrupt is not None and threading.current_thread() is threading.main_thread():
        raise _real_interrupt


def watch_sigint() -> None:
    """Recognise real Ctrl-Cs from now on: wrap SIGINT's handler when it is Python's default and this is the main
    thread (a host that installed its own handler keeps it, and its own rules)."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is (
        signal.default_int_handler
    ):
        signal.signal(signal.SIGINT, _sigint)


def belongs_to_host(exc: BaseException) -> bool:
    """Whether ``exc``, raised out of plugin code, must propagate to the host instead of answering for the plugin."""
    if isinstance(exc, KeyboardInterrupt):
        return exc is _real_interrupt
    if isinstance(exc, asyncio.CancelledError):
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no running loop: a sync hook raised it, nobody cancelled anything
            return False
        return task is not None and task.cancelling() > 0
    return False
