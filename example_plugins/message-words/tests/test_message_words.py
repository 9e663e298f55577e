"""``words`` (pip-installed, driven by a MessageHost): its answer streams word by word, waits while the stream is
paused, stops once it is cancelled; and ``pluginkit chat`` prints it live and cancels it on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pluginkit import PluginManager
from pluginkit.messages import MessageHost, StreamStatus

FULL = "You said: hi there. This answer arrives one word at a time, so you can pause it or stop it."


def host_on(site: Path, delay: float) -> MessageHost:
    manager = PluginManager(
        {"plugins": {"words": {"delay": delay}}}, search_path=[str(site)], cache=False,
        environ={"PLUGINKIT_LOAD_PLUGINS": "words"},
    )
    manager.load()
    return MessageHost(manager)


async def read_text(subscription: Any, stop_after: str | None = None) -> tuple[str, list[str]]:
    """The streamed text and the event types, until the stream ends (or ``stop_after`` appears)."""
    text, kinds = "", []
    async for event in subscription:
        kinds.append(event.type)
        text += event.payload["data"].get("chunk", "")
        if event.type in ("stream_end", "stream_cancel") or (stop_after and stop_after in text):
            break
    return text, kinds


def test_the_answer_streams_word_by_word(on_path: Path) -> None:
    host = host_on(on_path, delay=0.001)

    async def run() -> tuple[str, list[str], str]:
        instance = (await host.acreate("words")).instance_id
        screen = host.hub.subscribe(instance_id=instance)
        reply = await host.ahandle(instance, "hi   there")
        return (*await read_text(screen), reply)

    text, kinds, reply = asyncio.run(run())
    host.manager.shutdown()
    assert text == FULL and reply == ""
    assert kinds == ["stream_start"] + ["stream_data"] * len(FULL.split()) + ["stream_end"]


def test_it_waits_while_paused_and_stops_once_cancelled(on_path: Path) -> None:
    host = host_on(on_path, delay=0.005)
    manager = host.manager

    async def run() -> tuple[str, str, list[str]]:
        instance = (await host.acreate("words")).instance_id
        host.mount(instance)
        host.connect(instance)
        screen = host.hub.subscribe(instance_id=instance)
        answering = asyncio.ensure_future(host.ahandle(instance, "hi there"))
        before, _ = await read_text(screen, stop_after="answer")
        stream_id = host.context(instance).list_active_streams()[0]
        paused = await manager.ainvoke("host.message.stream_pause", {"instance_id": instance, "stream_id": stream_id})
        assert paused.ok, paused.error
        await asyncio.sleep(0.1)  # paused: nothing more arrives
        assert [e for e in iter(screen.get_nowait, None) if e.type == "stream_data"] == []
        await manager.ainvoke("host.message.stream_resume", {"instance_id": instance, "stream_id": stream_id})
        after_resume, _ = await read_text(screen, stop_after="word")
        assert host.cancel(instance, stream_id)
        await asyncio.wait_for(answering, 5)  # the plugin stopped producing
        rest = [e.type for e in iter(screen.get_nowait, None)]
        return before + after_resume, stream_id, rest

    text, stream_id, rest = asyncio.run(run())
    assert FULL.startswith(text.split(" pause")[0]) and "word" in text and len(text) < len(FULL)
    assert "stream_cancel" in rest and "stream_data" not in rest[rest.index("stream_cancel"):]
    assert host.hub.status(stream_id) is StreamStatus.CANCELLED
    manager.shutdown()


def test_pluginkit_chat_prints_live_and_cancels_on_ctrl_c(on_path: Path, tmp_path: Path) -> None:
    config = tmp_path / "pluginkit.toml"
    config.write_text("[plugins.words]\ndelay = 0.2\n")
    env = {
        **os.environ, "PYTHONPATH": str(on_path), "PLUGINKIT_NO_CACHE": "1", "PYTHONUNBUFFERED": "1",
        "PLUGINKIT_LOAD_PLUGINS": "words",
    }
    fast = subprocess.run(
        [sys.executable, "-m", "pluginkit.cli", "chat", "words", "hi there"], capture_output=True, text=True,
        env={**env, "PLUGINKIT_CONFIG": ""}, timeout=60,
    )
    assert fast.returncode == 0, fast.stderr
    assert fast.stdout == FULL + "\n"
    slow = subprocess.Popen(
        [sys.executable, "-m", "pluginkit.cli", "--config", str(config), "chat", "words", "hi there"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    assert slow.stdout is not None
    first = slow.stdout.read(len("You said:"))  # the answer has started
    slow.send_signal(signal.SIGINT)
    out, err = slow.communicate(timeout=30)
    assert slow.returncode == 130, err
    printed = first + out
    assert printed.startswith("You said:") and printed.rstrip().endswith("[cancelled]")
    assert len(printed) < len(FULL) and "Traceback" not in err


@pytest.fixture
def pluginkit_message_plugin(on_path: Path) -> Any:
    """The message-plugin conformance kit runs on the installed plugin, without pauses between words."""
    import pluginkit_message_words

    return pluginkit_message_words, {"delay": 0}
