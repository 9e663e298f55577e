"""Helpers shared by the tests under ``tests/`` and each example plugin's own ``tests/`` directory.

* installing plugin distributions: :func:`pip_install` and the lists of test-fixture and example plugins (the
  ``plugin_site`` / ``on_path`` fixtures of the root ``conftest.py`` use them);
* calling pip-installed plugins: :func:`plugins`, a manager that loads exactly the plugins named, and
  :func:`registry_on`, a tool registry;
* the two wire formats the example plugins speak: translation calls, an independent SSE reader and the
  accumulation of Anthropic and OpenAI streams the way a client does;
* the request pipeline's stage order, read from the ABI.
"""

from __future__ import annotations

import contextlib
import json
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pluginkit import PluginManager, PluginState, abi
from pluginkit import types as t
from pluginkit.tools import ToolRegistry

# --------------------------------------------------------------------------------------------------------------
# Installing plugin distributions
# --------------------------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_PLUGINS = sorted(p for p in (ROOT / "tests" / "plugins").iterdir() if (p / "pyproject.toml").exists())
EXAMPLE_PLUGINS = sorted(p for p in (ROOT / "example_plugins").iterdir() if (p / "pyproject.toml").exists())


def pip_install(target: Path, *projects: Path) -> None:
    """``pip install --target``: real wheels built from real pyproject.toml files, real dist-info on disk."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(target),
            *map(str, projects),
        ],
        check=True,
    )


# --------------------------------------------------------------------------------------------------------------
# Calling pip-installed plugins
# --------------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def plugins(site: Path, *ids: str, config: dict[str, Any] | None = None) -> Iterator[PluginManager]:
    """A manager that loads exactly ``ids`` from the pip-installed site, every one of them active."""
    manager = PluginManager(
        config, search_path=[str(site)], cache=False, environ={"PLUGINKIT_LOAD_PLUGINS": ",".join(ids)}
    ).load()
    try:
        for plugin_id in ids:
            info = manager.plugin(plugin_id)
            assert info.state is PluginState.ACTIVE, (plugin_id, info.reason)
            assert not info.problems, (plugin_id, info.problems)
        yield manager
    finally:
        manager.shutdown()


@contextlib.contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[None]:
    """``server`` answering on a thread of its own until the block ends (then shut down and closed)."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def registry_on(site: Path, **environ: str) -> ToolRegistry:
    """A tool registry over the pip-installed site (``environ`` as the manager's environment)."""
    return ToolRegistry(PluginManager(search_path=[str(site)], cache=False, environ=environ))


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def translate_request(
    m: PluginManager, source: str, target: str, body: Any, model: str = "", stream: bool = False
) -> Any:
    params = t.RequestTranslateRequest(
        from_format=source, to_format=target, model=model, stream=stream, body=dumps(body)
    )
    return json.loads(m.call("request.translate", params).body)


def translate_response(
    m: PluginManager, source: str, target: str, body: bytes, *, original: Any, translated: Any, model: str,
    stream: bool = False,
) -> bytes:
    params = t.ResponseTranslateRequest(
        from_format=source, to_format=target, model=model, stream=stream, original_request=dumps(original),
        translated_request=dumps(translated), body=body,
    )
    answer: bytes = m.call("response.translate", params).body
    return answer


def translate_stream(
    m: PluginManager, source: str, target: str, chunks: list[bytes], *, original: Any, translated: Any, model: str
) -> list[bytes]:
    """Each chunk translated on its own, as the pipeline does; every answer is non-empty SSE."""
    out = [
        translate_response(m, source, target, c, original=original, translated=translated, model=model, stream=True)
        for c in chunks
    ]
    assert all(answer and answer.endswith(b"\n\n") for answer in out)
    return out


def local_call(payload: Any, **fields: Any) -> t.ExecutorRequest:
    """A request for the ``local-executor`` example (provider ``local``, format ``claude``)."""
    return t.ExecutorRequest(auth_provider="local", model="local-echo", source_format="claude", format="claude",
                             payload=dumps(payload), **fields)


# --------------------------------------------------------------------------------------------------------------
# Reading SSE and the two stream formats
# --------------------------------------------------------------------------------------------------------------


def sse_events(data: bytes) -> list[tuple[str, str | None]]:
    """An independent SSE reader for assertions: ``(event type, data)``; comment-only events are ``(":", None)``."""
    text = data.decode()
    assert text.endswith("\n\n") and "\r" not in text, data
    events: list[tuple[str, str | None]] = []
    for raw in text[:-2].split("\n\n"):
        name, lines = "", []
        for line in raw.split("\n"):
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            if field == "event":
                name = value.strip()
            elif field == "data":
                lines.append(value.removeprefix(" "))
        events.append((name, "\n".join(lines)) if lines else (":", None))
    return events


def sse(value: Any, event: str = "") -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(value)}\n\n".encode()


def openai_stream(*texts: str, model: str = "gpt-4o-mini", message_id: str = "chatcmpl-1") -> list[bytes]:
    """An OpenAI chat completion streamed as an upstream sends it: a keep-alive comment, the role, one event per
    text, the stop, ``[DONE]``."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": message_id, "object": "chat.completion.chunk", "created": 1, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    return [
        b": keep-alive\n\n", sse(chunk({"role": "assistant", "content": ""})),
        *(sse(chunk({"content": text})) for text in texts), sse(chunk({}, "stop")), b"data: [DONE]\n\n",
    ]


def anthropic_stream_message(chunks: list[bytes]) -> tuple[dict[str, Any], set[int]]:
    """Accumulate Anthropic stream events the way a client does, checking the event order on the way. Returns
    the message and the content blocks left open."""
    events = [(name, json.loads(data)) for chunk in chunks for name, data in sse_events(chunk) if data is not None]
    assert events[0][0] == "message_start" and events[-1][0] == "message_stop"
    message = dict(events[0][1]["message"])
    blocks: dict[int, dict[str, Any]] = {}
    partial: dict[int, str] = {}
    open_blocks: set[int] = set()
    for name, data in events[1:-1]:
        assert name == data["type"]
        if name == "content_block_start":
            index = data["index"]
            assert index not in blocks
            blocks[index], partial[index] = dict(data["content_block"]), ""
            open_blocks.add(index)
        elif name == "content_block_delta":
            index, delta = data["index"], data["delta"]
            assert index in open_blocks
            if delta["type"] == "text_delta":
                blocks[index]["text"] += delta["text"]
            else:
                partial[index] += delta["partial_json"]
        elif name == "content_block_stop":
            open_blocks.discard(data["index"])
        elif name == "message_delta":
            message.update(data["delta"])
            message["usage"] = {**message["usage"], **data["usage"]}
        else:
            assert name == "ping", name
    for index, text in partial.items():
        if text:
            blocks[index]["input"] = json.loads(text)
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return message, open_blocks


def openai_stream_completion(chunks: list[bytes]) -> dict[str, Any]:
    """Accumulate OpenAI chunks: text, tool calls by index, finish reason, usage, and the ids/models seen."""
    data = [d for chunk in chunks for _, d in sse_events(chunk) if d is not None]
    assert data[-1] == "[DONE]" and "[DONE]" not in data[:-1]
    result: dict[str, Any] = {"role": None, "content": "", "tool_calls": {}, "finish_reason": None, "usage": None}
    ids, models = set(), set()
    for item in map(json.loads, data[:-1]):
        ids.add(item["id"])
        models.add(item["model"])
        assert item["object"] == "chat.completion.chunk"
        if item.get("usage"):
            result["usage"] = item["usage"]
        for choice in item["choices"]:
            delta = choice["delta"]
            result["role"] = delta.get("role", result["role"])
            result["content"] += delta.get("content") or ""
            for call in delta.get("tool_calls") or []:
                entry = result["tool_calls"].setdefault(call["index"], {"id": None, "name": None, "arguments": ""})
                entry["id"] = call.get("id", entry["id"])
                entry["name"] = call["function"].get("name", entry["name"])
                entry["arguments"] += call["function"].get("arguments", "")
            result["finish_reason"] = choice["finish_reason"] or result["finish_reason"]
    result["ids"], result["models"] = ids, models
    return result


# --------------------------------------------------------------------------------------------------------------
# The request pipeline's stage order
# --------------------------------------------------------------------------------------------------------------


def whole_request_stages() -> list[str]:
    """The methods a whole (not streamed) request passes, in the ABI's order (:class:`pluginkit.abi.Stage`): at
    each request-pipeline stage, the first method the table defines there (``executor.execute`` before
    ``execute_stream`` and ``count_tokens``, ``response.intercept_after`` before ``intercept_stream_chunk``).
    ``tests/abi/test_abi.py`` holds it to the seed's order."""
    return [
        next(m.name for m in abi.METHODS.values() if m.stage is stage)
        for stage in sorted(abi.Stage)
        if stage.in_request_pipeline
    ]
