"""The provider conformance kit on this plugin, as a plugin author's own suite runs it: defining the
``pluginkit_provider`` fixture collects ``TestProviderContract`` (pluginkit's pytest plugin)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pluginkit.testing import ProviderSubject


@pytest.fixture
def pluginkit_provider(on_path: Path, tmp_path: Path) -> ProviderSubject:
    import pluginkit_local_engine  # deferred: the pip-installed distribution, on the path for this test only

    store, source = tmp_path / "store", tmp_path / "source"
    store.mkdir()
    source.mkdir()
    for model in ("tiny-chat", "tiny-embed"):  # pulled already: the kit calls the services with them
        (store / f"{model}.bin").write_bytes(b"\0" * 1024)
    chat = {"model": "tiny-chat", "messages": [{"role": "user", "content": "hello"}]}
    return ProviderSubject(
        pluginkit_local_engine,
        pluginkit_local_engine.HERE,
        settings={"models_dir": str(store), "source_dir": str(source)},
        requests={
            "chat": json.dumps(chat).encode(),
            "embed": json.dumps({"model": "tiny-embed", "input": "hello"}).encode(),
            "chat-ws": b"hello",
        },
    )
