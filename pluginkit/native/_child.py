"""The child process of an isolated native library (``python -m pluginkit.native._child <library>``): it loads
the library and answers the host's frames (:mod:`pluginkit.native._isolated`) until the host says stop or goes
away."""

from __future__ import annotations

import base64
import sys

from pluginkit.native._isolated import b64, read_frame, write_frame
from pluginkit.native._library import NativeCallError, NativeLibrary, NativeLoadError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Load the library, then answer calls from the host until it says stop or goes away."""
    path = (argv or sys.argv[1:])[0]
    inbox, outbox = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # the frames are the only output on this pipe

    def host(method: str, request: bytes) -> bytes:
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
        try:
            response, rc = library.call(method, base64.b64decode(message["request"])), 0
        except NativeCallError as exc:
            response, rc = exc.text.encode(), exc.rc
        write_frame(outbox, {"rc": rc, "response": b64(response)})


if __name__ == "__main__":
    sys.exit(main())
