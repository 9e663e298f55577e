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
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from pluginkit.native._library import HostHandler, NativeCallError, NativeLoadError

__all__ = ["IsolatedLibrary", "read_frame", "write_frame"]

_LENGTH = struct.Struct(">I")


def write_frame(stream: IO[bytes], message: dict[str, Any]) -> None:
    data = json.dumps(message, separators=(",", ":")).encode()
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> dict[str, Any] | None:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(head)
    data = stream.read(length)
    if len(data) < length:
        return None
    message: dict[str, Any] = json.loads(data)
    return message


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
        self._process = process = subprocess.Popen(  # the host's own interpreter, this module
            [sys.executable, "-m", "pluginkit.native._child", str(self.path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )
        self.restarts += 1
        assert process.stdout is not None
        hello = read_frame(process.stdout)
        if hello is None or "error" in hello:
            self._stop()
            reason = hello["error"] if hello else f"{self.path}: its process ended while loading it"
            raise NativeLoadError(reason)
        self.abi_version = int(hello.get("abi_version", 0))

    def call(self, method: str, request: bytes = b"") -> bytes:
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
                    message = read_frame(process.stdout)
                    if message is None:
                        status = self._exit_status()
                        self._stop()
                        raise ChildDied(f"{self.path}: its process died in {method} ({status})")
                    if "host" in message:
                        answer = self._host(message["host"], base64.b64decode(message["request"]))
                        write_frame(process.stdin, {"response": b64(answer)})
                        continue
                    break
            except OSError as exc:
                self._stop()
                raise ChildDied(f"{self.path}: its process is gone ({exc})") from None
        response = base64.b64decode(message["response"])
        rc = int(message["rc"])
        if rc != 0:
            raise NativeCallError(method, rc, response.decode("utf-8", errors="replace"))
        return response

    def _exit_status(self) -> str:
        process = self._process
        code = process.wait() if process is not None else None
        return f"signal {-code}" if code is not None and code < 0 else f"exit {code}"

    def shutdown(self) -> None:
        with self._lock:
            process = self._process
            if process is not None and process.poll() is None and process.stdin is not None:
                with contextlib.suppress(OSError):
                    write_frame(process.stdin, {"shutdown": True})
            self._stop()

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
