"""The seed host's C ABI loaded with ctypes (``pluginkit.native._library``): libraries written in C by this test,
compiled at test time with the system compiler, loaded, called, refused for the seed host's reasons (CLIProxyAPI
``internal/pluginhost/loader_unix.go``, ``host_callbacks_unix.go``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from pluginkit.native._library import NativeCallError, NativeLibrary, NativeLoadError


def no_host(method: str, request: bytes) -> bytes:
    raise AssertionError(f"unexpected host callback {method}")


def test_a_library_is_loaded_and_called(build: Callable[..., Path]) -> None:
    library = NativeLibrary(build("good"), no_host)
    assert library.abi_version == 1
    registered = json.loads(library.call("plugin.register"))
    assert registered["ok"] and registered["result"]["capabilities"] == {"scheduler": True}
    assert library.call("test.echo", b'{"Model":"m"}') == b'{"Model":"m"}'
    assert library.call("test.echo") == b""
    assert json.loads(library.call("no.such.method"))["error"]["code"] == "not_handled"


def test_a_non_zero_return_code_is_an_error_with_the_raw_response(build: Callable[..., Path]) -> None:
    with pytest.raises(NativeCallError) as caught:
        NativeLibrary(build("good"), no_host).call("test.fail", b"{}")
    assert str(caught.value) == "plugin call test.fail returned 3: boom"  # the seed host's words


def test_host_callbacks_reach_the_host_and_their_answers_the_library(build: Callable[..., Path]) -> None:
    seen: list[tuple[str, bytes]] = []

    def host(method: str, request: bytes) -> bytes:
        seen.append((method, request))
        return b'{"ok":true,"result":{"echo":' + request + b"}}"

    answer = json.loads(NativeLibrary(build("good"), host).call("test.host", b'"hi"'))
    assert seen == [("host.test.echo", b'"hi"')]
    assert answer["result"]["Body"] == {"ok": True, "result": {"echo": "hi"}}


def test_a_failing_host_callback_answers_host_call_failed(build: Callable[..., Path]) -> None:
    def host(method: str, request: bytes) -> bytes:
        raise RuntimeError("the host is down")

    answer = json.loads(NativeLibrary(build("good"), host).call("test.host", b"{}"))
    assert answer["result"]["Body"]["error"] == {"code": "host_call_failed", "message": "the host is down"}


def test_calls_from_many_threads_at_once(build: Callable[..., Path]) -> None:
    library = NativeLibrary(build("good"), lambda m, r: b'{"ok":true}')
    answers: list[bytes] = []

    def work(index: int) -> None:
        for _ in range(200):
            answers.append(library.call("test.echo", str(index).encode()))
            library.call("test.host", b"1")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(answers)) == [str(i).encode() for i in range(8)] and len(answers) == 1600


def test_shutdown_is_called_once_and_then_calls_are_refused(build: Callable[..., Path]) -> None:
    library = NativeLibrary(build("shutdown"), no_host)
    assert library.call("test.shutdowns") == b"0"
    library.shutdown()
    library.shutdown()
    with pytest.raises(NativeCallError, match="closed"):
        library.call("test.echo", b"x")


@pytest.mark.parametrize(
    ("name", "defines", "reason"),
    [
        ("no-symbol", ("NO_SYMBOL",), "no cliproxy_plugin_init symbol"),
        ("init-fails", ("INIT_RC=7",), "cliproxy_plugin_init returned 7"),
        ("abi-2", ("PLUGIN_ABI=2",), "plugin ABI version 2 is not supported"),
        ("null-call", ("NULL_CALL",), "function table is incomplete"),
    ],
)
def test_a_library_is_refused_for_the_seed_hosts_reasons_naming_its_file(
    build: Callable[..., Path], name: str, defines: tuple[str, ...], reason: str
) -> None:
    path = build(name, *defines)
    with pytest.raises(NativeLoadError) as caught:
        NativeLibrary(path, no_host)
    assert str(path) in str(caught.value) and reason in str(caught.value)


def test_a_file_that_is_no_library_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "not-a-library.so"
    path.write_text("hello")
    with pytest.raises(NativeLoadError, match="cannot be loaded"):
        NativeLibrary(path, no_host)
