"""A native library as a pluginkit plugin: a hookimpl for every ABI method its registration declares.

The library is asked ``plugin.register`` once, when it is loaded (as the seed host does the first time), with the
``config_yaml`` the seed host builds from the plugin's settings: what it declares (its capability flags) decides
which hooks the plugin gets. Each hook writes its params as the seed's JSON, calls the library, and reads the
envelope it answers: ``ok`` → the typed result (an absent result is the zero value), else the error it names. Host
callbacks (``host.log``, ``host.http.*``, ``host.stream.*``) are answered by the manager's host services, so a
native executor can stream through the pipeline.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pluginkit import abi, wire
from pluginkit import types as t
from pluginkit.abi._hookspecs import hookimpl
from pluginkit.errors import PluginError, PluginKitError
from pluginkit.native._discovery import NativeFile, find_libraries
from pluginkit.native._isolated import IsolatedLibrary
from pluginkit.native._library import NativeCallError, NativeLibrary

if TYPE_CHECKING:
    from pluginkit.runtime import PluginInfo, PluginManager

__all__ = ["NativePlugin", "load_native"]

log = logging.getLogger("pluginkit.native")
#: How long ``plugin.register`` / ``plugin.reconfigure`` may take (bounded for a library in a child process).
REGISTER_TIMEOUT = 30.0
#: A library in the host's process, or in a child process of its own.
Library = NativeLibrary | IsolatedLibrary


def _envelope(method: abi.Method, answer: bytes) -> Any:
    """A library's envelope → ``method``'s typed result, or the error it says (a :class:`PluginError`: the
    plugin's answer, not its crash)."""
    try:
        document = wire.loads(answer) if answer else {}
    except wire.WireError as exc:
        raise PluginKitError("plugin_error", f"answered no JSON envelope: {exc}") from None
    if not isinstance(document, dict):
        raise PluginKitError("plugin_error", "answered no JSON envelope")
    if document.get("ok"):
        try:  # read by wire.loads already: not walked again (~1.5 us of a ~9 us call)
            return wire.structure(document.get("result") or {}, method.result)
        except wire.WireError as exc:  # garbage: the plugin's bug, as a Python plugin's would be
            raise TypeError(f"answered a result that is not a {method.result.__name__}: {exc}") from None
    found = document.get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    status = error.get("http_status")
    raise PluginError(
        str(error.get("code") or "plugin_error"), str(error.get("message") or "the plugin failed"),
        bool(error.get("retryable")) if "retryable" in error else None,
        http_status=status if isinstance(status, int) and status > 0 else None,
    )


class NativePlugin:
    """The plugin object of one library (register it with the manager: :func:`load_native` does)."""

    PLUGINKIT_ABI = abi.ABI_VERSION

    def __init__(
        self, library: Library, registration: t.Registration, timeouts: Mapping[str, float | None] | None = None
    ) -> None:
        self.library = library
        self.registration = registration
        #: Per-method time limits (``[pluginkit.timeouts]``) for a library in a process of its own.
        self.timeouts = dict(timeouts or {})
        for name in sorted(registration.capabilities.declared()):
            for method in abi.METHODS.capability_methods(name):
                setattr(self, method.hook_name, self._hook(method))

    def _hook(self, method: abi.Method) -> Callable[[Any], Any]:
        library, name = self.library, method.name
        limit = self.timeouts.get(name, method.timeout)

        def call(params: Any) -> Any:
            try:
                answer = library.call(name, wire.encode(params), limit)
            except NativeCallError as exc:  # the seed host's words, the raw response kept
                raise PluginError("plugin_error", str(exc)) from None
            return _envelope(method, answer)

        call.__name__ = method.hook_name
        # a code object of its own per plugin and hook: the watchdog tells hooks apart by their code, and every
        # native hook is this one closure
        call.__code__ = call.__code__.replace(co_name=f"{method.hook_name}__{id(self):x}")
        return hookimpl(call)

    @hookimpl
    def plugin_register(self) -> t.Registration:
        return self.registration  # asked once, when the library was loaded

    @hookimpl
    def plugin_reconfigure(self, params: t.LifecycleRequest) -> t.Registration:
        answer = self.library.call("plugin.reconfigure", wire.encode(params), REGISTER_TIMEOUT)
        registration: t.Registration = _envelope(abi.get("plugin.register"), answer)
        return registration

    @hookimpl
    def plugin_shutdown(self) -> None:
        self.library.shutdown()


def _host_handler(manager: PluginManager, plugin_id: str) -> Callable[[str, bytes], bytes]:
    """What answers a library's host callbacks: the manager's host services, envelopes both ways."""
    host = manager.host

    def answer(method: str, request: bytes) -> bytes:
        try:
            spec = abi.get(method)
            if spec.is_hook:
                raise PluginKitError("host_call_failed", f"{method} is not a host callback")
            result = host.handle(method, spec.parse_params(request or b"{}"), plugin_id)
            return wire.Envelope.success(result).to_json()
        except PluginKitError as exc:
            return wire.Envelope.failure("host_call_failed", exc.message).to_json()
        except Exception as exc:  # a host service's own failure: an envelope, never an exception into the library
            return wire.Envelope.failure("host_call_failed", f"{type(exc).__name__} in {method}").to_json()

    return answer


_FROM_CONFIG: Any = object()


def load_native(
    manager: PluginManager,
    root: str | os.PathLike[str] | None = _FROM_CONFIG,
    *,
    paths: Mapping[str, str | os.PathLike[str]] | None = None,
) -> list[PluginInfo]:
    """Load the native libraries under ``root`` (the seed host's discovery rules; by default the configuration's
    ``[pluginkit.native] dir`` when ``enabled``) and those named in ``paths`` (plugin ID → file; by default each
    plugin table's ``library``), and register each with ``manager``. A library refused is logged and left out with
    its reason; nothing else is affected. A library named by path wins over one of the same ID found under
    ``root``. Returns the registered plugins' states."""
    config = manager.config
    if root is _FROM_CONFIG:
        root = config.native_dir
    if paths is None:
        paths = {plugin_id: table.library for plugin_id, table in config.plugins.items() if table.library}
    files = [NativeFile(plugin_id, Path(path)) for plugin_id, path in paths.items()]  # named: they come first
    if root is not None:
        files += [found for found in find_libraries(root) if found.id not in paths]
    loaded = []
    for native in files:
        selected, why = manager.config.selected(native.id)
        if not selected:
            log.info("native plugin %r (%s) not loaded: %s", native.id, native.path, why)
            continue
        isolated = config.for_plugin(native.id).isolation == "process"
        source = "native-process" if isolated else "native"  # what `pluginkit list` and `doctor` show
        library: Library | None = None
        try:
            library = (IsolatedLibrary if isolated else NativeLibrary)(native.path, _host_handler(manager, native.id))
            registration = _register(library, manager, native.id)
        except Exception as exc:  # whatever a library does while it loads leaves only it out
            if library is not None:
                with contextlib.suppress(Exception):
                    library.shutdown()
            manager.refuse(native.id, str(exc)[:500], source=source, location=str(native.path))
            continue
        plugin = NativePlugin(library, registration, config.timeouts)
        loaded.append(manager.register(plugin, native.id, source=source, location=str(native.path)))
    return loaded


def _register(library: Library, manager: PluginManager, plugin_id: str) -> t.Registration:
    """``plugin.register``, with the settings as the seed host sends them (``config_yaml``)."""
    settings = manager.config.for_plugin(plugin_id)
    request = t.LifecycleRequest.from_config(dict(settings.settings), enabled=True, priority=settings.priority)
    answer = library.call("plugin.register", wire.encode(request), REGISTER_TIMEOUT)
    registration: t.Registration = _envelope(abi.get("plugin.register"), answer)
    return registration
