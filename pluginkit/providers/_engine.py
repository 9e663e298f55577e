"""A local provider's engine as a process of its own that never outlives the host.

The seed's local providers run their engine (Ollama, OpenVINO's model server) as a separate process. Here the
provider starts it with :class:`EngineProcess`: on 127.0.0.1, on a port the engine picks and reports, with a
*lifeline* — the engine's standard input is a pipe from the host, and :func:`exit_with_host`, called in the engine,
ends the engine when that pipe closes. The kernel closes it when the host ends however it ends (``kill -9``
included), so an engine is never left running without its host; on Linux an engine started from the host's main
thread is also sent ``SIGKILL`` when its parent dies (``PR_SET_PDEATHSIG``), for engines that cannot call
:func:`exit_with_host`. What the engine prints after its port line goes to the ``pluginkit.providers`` log.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pluginkit.errors import PluginKitError
from pluginkit.redaction import redact_text

__all__ = ["EngineProcess", "announce_port", "exit_with_host"]

log = logging.getLogger("pluginkit.providers")

#: The line an engine prints first: ``PLUGINKIT_ENGINE_PORT=<port>``.
PORT_LINE = "PLUGINKIT_ENGINE_PORT="


class EngineProcess:
    """An engine process: ``start()`` runs ``argv`` and waits for the port it announces; ``stop()`` ends it.

    ``argv[0]`` may be a ``.py`` file (run with this Python). The engine must print :data:`PORT_LINE` and its
    port as its first line of output (:func:`announce_port`) and should call :func:`exit_with_host`.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        argv = [str(a) for a in argv]
        if argv and argv[0].endswith(".py"):
            argv = [sys.executable, *argv]
        self.argv = argv
        self.env = None if env is None else {**os.environ, **env}
        self.cwd = cwd
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_manifest(
        cls, directory: str | os.PathLike[str], executable: str, *args: str, env: Mapping[str, str] | None = None
    ) -> EngineProcess:
        """The engine a manifest's ``platforms[<os>_<arch>].executable`` names, relative to ``directory``."""
        return cls([str(Path(directory, executable)), *args], env=env, cwd=directory)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> str:
        """Start the engine (if it is not running) and answer its URL once it has announced its port;
        ``engine_start_failed`` when it exits or stays silent for ``timeout`` seconds."""
        with self._lock:
            if self.running:
                return self.url
            if self.process is not None:  # it died: its pipes are closed before a new one starts
                self._kill(self.process)
            process = subprocess.Popen(  # the provider's own engine: argv from its manifest
                self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self.env, cwd=self.cwd,
                preexec_fn=_death_signal() if sys.platform == "linux" else None,
            )
            self.process = process
            try:
                self.port = _read_port(process, timeout)
            except BaseException:
                self._kill(process)
                if process.stdout is not None:  # no reader holds it yet
                    process.stdout.close()
                raise
            _drain(process, Path(self.argv[-1]).name if self.argv else "engine")
            return self.url

    def stop(self, timeout: float = 5.0) -> None:
        """End the engine: its lifeline is closed and it is sent SIGTERM, then SIGKILL after ``timeout``."""
        with self._lock:
            process, self.process = self.process, None
            if process is not None:
                self._kill(process, timeout)

    @staticmethod
    def _kill(process: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
        """Close the lifeline, then SIGTERM, then SIGKILL after ``timeout``. The engine's output pipe is left to
        its reader, which gets its end when the engine ends (closing it here would wait for that reader)."""
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _death_signal() -> Callable[[], None] | None:
    """Linux's parent-death signal for the engine, when it is safe: it follows the *thread* that started the
    engine, not the process, so it is set only from the main thread (an engine started from a worker thread would
    die with that thread). The lifeline covers every other case. ``prctl`` is looked up here, in the host: between
    fork and exec the child may only make the call."""
    if threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the host died before the signal was set
            os._exit(1)

    return die_with_parent


def _drain(process: subprocess.Popen[bytes], name: str) -> None:
    """Read what the engine writes after its port line, to the log, masked (an unread pipe would stall an engine
    that writes enough to fill it); the pipe is closed at its end."""
    stdout = process.stdout

    def read() -> None:
        assert stdout is not None
        with contextlib.suppress(OSError, ValueError), stdout:
            for line in stdout:
                log.debug("engine %s: %s", name, redact_text(line.decode(errors="replace").rstrip()))

    threading.Thread(target=read, name=f"pluginkit-engine-{process.pid}", daemon=True).start()


def _read_port(process: subprocess.Popen[bytes], timeout: float) -> int:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    fd = process.stdout.fileno()
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise PluginKitError("engine_start_failed", f"the engine did not announce its port in {timeout:g}s")
        ready, _, _ = select.select([fd], [], [], min(left, 0.1))
        if ready:
            byte = os.read(fd, 1)
            if not byte:
                code = process.poll()
                raise PluginKitError("engine_start_failed", f"the engine exited before announcing its port ({code})")
            line += byte
    text = line.decode(errors="replace").strip()
    port = text[len(PORT_LINE):]
    if not text.startswith(PORT_LINE) or not (port.isascii() and port.isdigit()):
        raise PluginKitError("engine_start_failed", f"the engine's first line is not {PORT_LINE}<port>: {text[:80]!r}")
    return int(port)


# -- in the engine ---------------------------------------------------------------------------------------------------
def announce_port(port: int) -> None:
    """In the engine, once it listens: tell the host its port (the first line of its output)."""
    sys.stdout.write(f"{PORT_LINE}{port}\n")
    sys.stdout.flush()


def exit_with_host() -> None:
    """In the engine: end this process when the host ends (its standard input, the host's lifeline, closes)."""

    def watch() -> None:
        stdin = sys.stdin.buffer
        while stdin.read(65536):
            pass
        os._exit(0)

    threading.Thread(target=watch, name="pluginkit-lifeline", daemon=True).start()
