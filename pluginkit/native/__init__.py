"""Native plugins: shared libraries speaking the seed host's C ABI (CLIProxyAPI ``sdk/pluginabi``), written in C,
Go (``-buildmode=c-shared``) or Rust (``cdylib``), loaded in the host's process as the seed host loads them, or in
a child process of their own (``isolation = "process"``). ``docs/native.md`` tells how.
"""

from pluginkit.native._discovery import NativeFile, find_libraries
from pluginkit.native._isolated import IsolatedLibrary
from pluginkit.native._library import ABI_VERSION, NativeCallError, NativeLibrary, NativeLoadError
from pluginkit.native._plugin import NativePlugin, load_native

__all__ = [
    "ABI_VERSION",
    "IsolatedLibrary",
    "NativeCallError",
    "NativeFile",
    "NativeLibrary",
    "NativeLoadError",
    "NativePlugin",
    "find_libraries",
    "load_native",
]
