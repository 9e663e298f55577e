"""A native plugin library: the seed host's C ABI (CLIProxyAPI ``sdk/pluginabi``), loaded and called with ctypes.

A library exports one symbol, ``int cliproxy_plugin_init(const cliproxy_host_api*, cliproxy_plugin_api*)``. The
host hands it its call table (``abi_version``, an opaque ``host_ctx``, ``call`` and ``free_buffer``) and gets the
plugin's (``abi_version``, ``call``, ``free_buffer``, ``shutdown``). Every call is a method name (a C string) and
request bytes (JSON) in, response bytes (a JSON envelope) and an ``int`` out; the side that allocated a response
frees it (the host copies the plugin's answer, then calls the plugin's ``free_buffer``). What :class:`NativeLibrary`
does is what the seed host's ``loader_unix.go`` does, step for step: ``dlopen(RTLD_NOW | RTLD_LOCAL)``, the symbol,
``init`` returning 0, ABI version 1, ``call`` and ``free_buffer`` set — each refusal naming the file.

ctypes releases the GIL around every foreign call: a library's ``call`` runs while other threads run Python, and
calls may come from many threads at once, as the seed host's goroutines make them.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pluginkit.redaction import redact_text

__all__ = ["ABI_VERSION", "INIT_SYMBOL", "NativeCallError", "NativeLibrary", "NativeLoadError"]

#: The C ABI's version, which a library's ``plugin->abi_version`` must equal.
ABI_VERSION = 1
INIT_SYMBOL = "cliproxy_plugin_init"


class Buffer(ctypes.Structure):
    """``cliproxy_buffer {void* ptr; size_t len;}``."""

    _fields_ = (("ptr", ctypes.c_void_p), ("len", ctypes.c_size_t))


_BYTES = ctypes.POINTER(ctypes.c_uint8)
HostCall = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, _BYTES, ctypes.c_size_t, ctypes.POINTER(Buffer)
)
HostFree = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_size_t)
PluginCall = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, _BYTES, ctypes.c_size_t, ctypes.POINTER(Buffer))
PluginFree = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_size_t)
PluginShutdown = ctypes.CFUNCTYPE(None)


class HostApi(ctypes.Structure):
    """``cliproxy_host_api``: what the host hands the library."""

    _fields_ = (
        ("abi_version", ctypes.c_uint32), ("host_ctx", ctypes.c_void_p), ("call", HostCall),
        ("free_buffer", HostFree),
    )


class PluginApi(ctypes.Structure):
    """``cliproxy_plugin_api``: what the library's ``init`` fills in."""

    _fields_ = (
        ("abi_version", ctypes.c_uint32), ("call", PluginCall), ("free_buffer", PluginFree),
        ("shutdown", PluginShutdown),
    )


Init = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(HostApi), ctypes.POINTER(PluginApi))

#: Where the host's response buffers come from (``malloc``) and go back to (``free``): the C library's.
_libc = ctypes.cdll.msvcrt if sys.platform == "win32" else ctypes.CDLL(None)
#: ``dlopen`` flags (POSIX; Windows' ``LoadLibrary`` takes none).
_MODE = getattr(os, "RTLD_NOW", 0) | getattr(os, "RTLD_LOCAL", 0)
_malloc = _libc.malloc
_malloc.restype, _malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
_free = _libc.free
_free.restype, _free.argtypes = None, (ctypes.c_void_p,)


class NativeLoadError(Exception):
    """A library refused, with the reason (naming its file)."""


class NativeCallError(Exception):
    """A call that returned non-zero: ``plugin call <method> returned <rc>: <raw response text>``, as the seed host
    words it (the envelope is not parsed)."""

    def __init__(self, method: str, rc: int, text: str) -> None:
        shown = redact_text(text[:MAX_ERROR_TEXT])  # a raw answer may be long, and may hold a secret
        super().__init__(f"plugin call {method} returned {rc}: {shown}")
        self.method, self.rc, self.text = method, rc, text


#: What answers a library's host callbacks: ``(method, request JSON) → response JSON`` (an envelope).
HostHandler = Callable[[str, bytes], bytes]


def _free_host_buffer(ptr: int | None, length: int) -> None:
    """``host->free_buffer``: the library frees a response the host allocated (with ``malloc``)."""
    if ptr:
        _free(ptr)


_host_free = HostFree(_free_host_buffer)
#: Every host table handed to a library, and its callback: never freed (see NativeLibrary.__init__).
_KEPT: list[tuple[Any, Any]] = []
#: How much of a library's raw answer an error keeps (masked).
MAX_ERROR_TEXT = 500


class NativeLibrary:
    """One loaded library: :meth:`call` it by method name; :meth:`shutdown` calls its ``shutdown()``.

    ``host`` answers the library's host callbacks (``host.log``, ``host.http.*``, ``host.stream.*``…); an exception
    from it becomes ``{"ok":false,"error":{"code":"host_call_failed",…}}``, as in the seed host.
    """

    def __init__(self, path: str | os.PathLike[str], host: HostHandler) -> None:
        self.path = Path(path)
        self._host = host
        self._lock = threading.Lock()
        self._closed = False
        try:
            self._dll = ctypes.CDLL(str(self.path), mode=_MODE)
        except OSError as exc:
            raise NativeLoadError(f"{self.path}: cannot be loaded: {exc}") from None
        try:
            address = ctypes.cast(getattr(self._dll, INIT_SYMBOL), ctypes.c_void_p).value or 0
        except AttributeError:
            raise NativeLoadError(f"{self.path}: no {INIT_SYMBOL} symbol") from None
        init = Init(address)
        # kept for the life of the process: a library is never unloaded, and may keep (and use) the host's table
        # even when it is refused or its object is gone
        self._host_call = HostCall(self._answer)
        self._host_api = HostApi(ABI_VERSION, None, self._host_call, _host_free)
        _KEPT.append((self._host_call, self._host_api))
        self._api = PluginApi()
        rc = init(ctypes.byref(self._host_api), ctypes.byref(self._api))
        if rc != 0:
            self.shutdown()
            raise NativeLoadError(f"{self.path}: {INIT_SYMBOL} returned {rc}")
        if self._api.abi_version != ABI_VERSION:
            version = self._api.abi_version
            self.shutdown()
            raise NativeLoadError(f"{self.path}: plugin ABI version {version} is not supported (host: {ABI_VERSION})")
        if not self._api.call or not self._api.free_buffer:
            self.shutdown()
            raise NativeLoadError(f"{self.path}: the plugin's function table is incomplete (call, free_buffer)")
        self._call = self._api.call
        self._free_buffer = self._api.free_buffer

    @property
    def abi_version(self) -> int:
        return int(self._api.abi_version)

    def call(self, method: str, request: bytes = b"", timeout: float | None = None) -> bytes:
        """The library's answer to ``method`` with ``request``: its response bytes (an envelope), its buffer freed
        by its own ``free_buffer``. Raises :class:`NativeCallError` for a non-zero return code. ``timeout`` cannot
        bound a call in this process (nothing stops a C function): the runtime's watchdog moves a plugin that
        overruns to threads of its own, as for any synchronous hook; ``isolation = "process"`` bounds each call."""
        if self._closed:
            raise NativeCallError(method, -1, "plugin client is closed")
        response = Buffer()
        data = (ctypes.c_uint8 * len(request)).from_buffer_copy(request) if request else None
        rc = self._call(method.encode(), data, len(request), ctypes.byref(response))
        out = ctypes.string_at(response.ptr, response.len) if response.ptr and response.len else b""
        if response.ptr:
            self._free_buffer(response.ptr, response.len)
        if rc != 0:
            raise NativeCallError(method, rc, out.decode("utf-8", errors="replace"))
        return out

    def shutdown(self) -> None:
        """Call the library's ``shutdown()`` once. It stays loaded: the seed host calls ``dlclose`` then, but a
        library may still hold the host's table or run a thread of its own (docs/native.md)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            stop = self._api.shutdown
        if stop:
            stop()

    # -- the host's side of the call table ---------------------------------------------------------------------------
    def _answer(
        self, ctx: int | None, method: bytes | None, request: Any, length: int, response: Any
    ) -> int:
        """``host->call``: the library calls the host. Runs on the library's thread, holding the GIL."""
        out = response if response else None
        if out:
            out.contents.ptr, out.contents.len = None, 0
        if method is None or self._closed:
            return 1
        address = ctypes.cast(request, ctypes.c_void_p).value if request else None
        data = ctypes.string_at(address, length) if address and length else b""
        try:
            answer = self._host(method.decode("utf-8", errors="replace"), data)
        except Exception as exc:  # the host's own failure: an envelope, never an exception into C
            answer = _failure(str(exc))
        if not answer or not out:
            return 0
        ptr = _malloc(len(answer))
        if not ptr:
            return 1
        ctypes.memmove(ptr, answer, len(answer))
        out.contents.ptr, out.contents.len = ptr, len(answer)
        return 0


def _failure(message: str) -> bytes:
    import json  # deferred: only a failing host callback needs it

    return json.dumps({"ok": False, "error": {"code": "host_call_failed", "message": message}}).encode()
