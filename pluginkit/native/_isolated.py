"""A native library in a child process of its own (``isolation = "process"``): a crash takes down the child, not
the host.

The seed host loads every library into its own process, where a segfault ends everything. Here the child runs
:class:`~pluginkit.native._library.NativeLibrary` and speaks frames over its standard input and output: a frame is
a 4-byte big-endian length and a JSON object. The host sends ``{"call": method, "request": base64}``; the child
answers ``{"rc": int, "response": base64}``, or, while the call runs, asks the host back
``{"host": method, "request": base64}`` and waits for ``{"response": base64}``. One call at a time per child (the
frames of a call and of its host callbacks follow each other), so calls to one isolated library are serialized.
A child that dies mid-call is the plugin's crash (the runtime fuses it by default); the next call, if any, starts
a new child.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from pluginkit.errors import PluginKitError
from pluginkit.native._library import HostHandler, NativeCallError, NativeLoadError

__all__ = ["IsolatedLibrary", "read_frame", "write_frame"]

_LENGTH = struct.Struct(">I")
#: How long a child may take to load its library.
LOAD_TIMEOUT = 30.0


def write_frame(stream: IO[bytes], message: dict[str, Any]) -> None:
    data = json.dumps(message, separators=(",", ":")).encode()
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


#: The largest frame the host reads from a child (a frame announcing more is the child's failure).
MAX_FRAME = 64 * 2**20


def read_frame(fd: int, deadline: float | None = None) -> dict[str, Any] | None:
    """A frame from a pipe, read raw (no buffer between ``select`` and the reads); ``None`` at its end;
    ``TimeoutError`` past ``deadline``; ``ValueError`` for a frame that makes no sense. Both sides read with it."""
    head = _read_exact(fd, _LENGTH.size, deadline)
    if head is None:
        return None
    (length,) = _LENGTH.unpack(head)
    if length > MAX_FRAME:
        raise ValueError(f"a frame of {length} bytes")
    data = _read_exact(fd, length, deadline)
    if data is None:
        return None
    message = json.loads(data)
    if not isinstance(message, dict):
        raise ValueError("a frame that is no object")
    return message


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes | None:
    chunks, left = [], size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
        chunk = os.read(fd, left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class ChildDied(RuntimeError):
    """The library's process ended during a call: the plugin's crash."""


class IsolatedLibrary:
    """A library loaded in a child process; the same ``call`` / ``shutdown`` as :class:`NativeLibrary`."""

    def __init__(self, path: str | os.PathLike[str], host: HostHandler) -> None:
        self.path = Path(path)
        self._host = host
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self.abi_version = 0
        self.restarts = -1
        self._start()

    def _start(self) -> None:
        self._process = process = subprocess.Popen(  # the host's own interpreter, this package's child
            [sys.executable, "-m", "pluginkit.native._child", str(self.path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,  # raw: select sees every byte there is
        )
        self.restarts += 1
        assert process.stdout is not None
        try:
            hello = read_frame(process.stdout.fileno(), time.monotonic() + LOAD_TIMEOUT)
        except (TimeoutError, ValueError):
            self._stop(kill=True)
            raise NativeLoadError(f"{self.path}: its process did not load it within {LOAD_TIMEOUT:g}s") from None
        if hello is None or "error" in hello:
            self._stop()
            reason = hello["error"] if hello else f"{self.path}: its process ended while loading it"
            raise NativeLoadError(reason)
        self.abi_version = int(hello.get("abi_version", 0))

    def call(self, method: str, request: bytes = b"", timeout: float | None = None) -> bytes:
        """The library's answer, as :meth:`NativeLibrary.call`; past ``timeout`` seconds (``None``: none) the child
        is killed and the call is ``timeout`` (the next call starts a new child)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            process = self._process
            if process is None or process.poll() is not None:
                self._stop()  # a child that died between calls: its pipes closed first
                self._start()
                process = self._process
            assert process is not None and process.stdin is not None and process.stdout is not None
            try:
                write_frame(process.stdin, {"call": method, "request": b64(request)})
                while True:
                    message = read_frame(process.stdout.fileno(), deadline)
                    if message is None:
                        status = self._exit_status()
                        self._stop()
                        raise ChildDied(f"{self.path}: its process died in {method} ({status})")
                    if "host" in message:
                        write_frame(process.stdin, {"response": b64(self._callback(message))})
                        continue
                    break
            except TimeoutError:
                self._stop(kill=True)
                raise PluginKitError(
                    "timeout", f"{self.path}: {method} took longer than {timeout:g}s; its process was stopped"
                ) from None
            except (OSError, ValueError, KeyError, TypeError) as exc:  # a pipe gone, or frames that make no sense
                self._stop(kill=True)
                raise ChildDied(f"{self.path}: its process failed in {method} ({type(exc).__name__})") from None
        try:
            response = base64.b64decode(message["response"])
            rc = int(message["rc"])
        except (KeyError, TypeError, ValueError):
            raise ChildDied(f"{self.path}: its process answered {method} with a frame that makes no sense") from None
        if rc != 0:
            raise NativeCallError(method, rc, response.decode("utf-8", errors="replace"))
        return response

    def _callback(self, message: dict[str, Any]) -> bytes:
        """The host's answer to the child's callback: always an answer (the child waits for one)."""
        try:
            return self._host(str(message["host"]), base64.b64decode(message.get("request", "")))
        except Exception as exc:
            error = {"code": "host_call_failed", "message": type(exc).__name__}
            return json.dumps({"ok": False, "error": error}).encode()

    def _exit_status(self) -> str:
        process = self._process
        if process is not None:
            try:
                process.wait(1)
            except subprocess.TimeoutExpired:  # its pipe closed, but it runs on: ended now
                process.kill()
        code = process.wait() if process is not None else None
        return f"signal {-code}" if code is not None and code < 0 else f"exit {code}"

    def shutdown(self) -> None:
        with self._lock:
            process = self._process
            if process is not None and process.poll() is None and process.stdin is not None:
                with contextlib.suppress(OSError):
                    write_frame(process.stdin, {"shutdown": True})
            self._stop()

    def _stop(self, *, kill: bool = False) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if kill and process.poll() is None:
            process.kill()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
