"""The child process of an isolated native library (``python -m pluginkit.native._child <library>``): it loads
the library and answers the host's frames (:mod:`pluginkit.native._isolated`) until the host says stop or goes
away."""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import signal
import sys
import threading

from pluginkit.native._isolated import b64, read_frame, write_frame
from pluginkit.native._library import NativeCallError, NativeLibrary, NativeLoadError

__all__ = ["main"]

#: What a host callback from outside a call gets (its thread is not the call's, and the pipe is the call's).
_REFUSED = json.dumps(
    {"ok": False, "error": {"code": "host_call_failed", "message": "no host callback outside a call here"}}
).encode()


def _die_with_host() -> None:
    """On Linux: end with the host, even stuck in a C call (``PR_SET_PDEATHSIG``)."""
    if sys.platform == "linux":
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    """Load the library, then answer calls from the host until it says stop or goes away."""
    path = (argv or sys.argv[1:])[0]
    _die_with_host()
    inbox = sys.stdin.fileno()
    # the frames get a descriptor of their own; what the library (C included) writes to fd 1 goes to stderr
    outbox = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    calling = threading.local()

    def host(method: str, request: bytes) -> bytes:
        if not getattr(calling, "active", False):  # a library thread of its own, outside the call: no host here
            return _REFUSED
        write_frame(outbox, {"host": method, "request": b64(request)})
        answer = read_frame(inbox)
        if answer is None:
            raise RuntimeError("the host went away")
        return base64.b64decode(answer["response"])

    try:
        library = NativeLibrary(path, host)
    except NativeLoadError as exc:
        write_frame(outbox, {"error": str(exc)})
        return 1
    write_frame(outbox, {"abi_version": library.abi_version})
    while True:
        message = read_frame(inbox)
        if message is None or message.get("shutdown"):
            library.shutdown()
            return 0
        method = message["call"]
        calling.active = True
        try:
            response, rc = library.call(method, base64.b64decode(message["request"])), 0
        except NativeCallError as exc:
            response, rc = exc.text.encode(), exc.rc
        finally:
            calling.active = False
        write_frame(outbox, {"rc": rc, "response": b64(response)})


if __name__ == "__main__":
    sys.exit(main())
