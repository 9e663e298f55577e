"""``local-executor`` (pip-installed, called through a real PluginManager): deterministic answers, whole and
streamed (pushed with ``host.stream.emit``, or inline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pluginkit import PluginKitError
from tests.helpers import anthropic_stream_message, local_call, plugins, sse_events

LOCAL_REQUEST = {
    "model": "local-echo", "max_tokens": 1024, "system": "Be nice.",
    "messages": [
        {"role": "user", "content": "earlier message"},
        {"role": "assistant", "content": "earlier answer"},
        {"role": "user", "content": [{"type": "text", "text": "Please   repeat\nafter me"}]},
    ],
}


def test_local_executor_answers_deterministically(on_path: Path) -> None:
    with plugins(on_path, "local-executor") as m:
        first = m.call("executor.execute", local_call(LOCAL_REQUEST))
        again = m.call("executor.execute", local_call(LOCAL_REQUEST))
        short = json.loads(m.call("executor.execute", local_call({**LOCAL_REQUEST, "max_tokens": 5})).payload)
        cut = json.loads(m.call("executor.execute", local_call({**LOCAL_REQUEST, "stop_sequences": ["me"]})).payload)
        with pytest.raises(PluginKitError) as caught:
            m.call("executor.execute", local_call({"model": "x"}))
    assert first.payload == again.payload
    answer = json.loads(first.payload)
    assert answer["type"] == "message" and answer["id"].startswith("msg_local_") and answer["model"] == "local-echo"
    [block] = answer["content"]
    assert block["text"].startswith("You said: Please repeat after me This answer comes from the local example")
    assert answer["stop_reason"] == "end_turn"
    assert answer["usage"] == {"input_tokens": 10, "output_tokens": len(block["text"].split())}
    assert short["content"][0]["text"] == "You said: Please repeat after"
    assert short["stop_reason"] == "max_tokens" and short["usage"]["output_tokens"] == 5
    assert cut["content"][0]["text"] == "You said: Please repeat after"
    assert cut["stop_reason"] == "stop_sequence" and cut["stop_sequence"] == "me"
    assert caught.value.code == "invalid_request"


def test_local_executor_streams_by_emit_and_inline(on_path: Path) -> None:
    with plugins(on_path, "local-executor") as m:
        whole = json.loads(m.call("executor.execute", local_call(LOCAL_REQUEST)).payload)
        stream = m.host.open_stream()
        result = m.call("executor.execute_stream", local_call(LOCAL_REQUEST, stream=True, stream_id=stream.id))
        assert result.chunks == [] and stream.closed
        pushed = [chunk.payload for chunk in stream]
    config = {"plugins": {"local-executor": {"inline": True}}}
    with plugins(on_path, "local-executor", config=config) as m:
        inline = m.call("executor.execute_stream", local_call(LOCAL_REQUEST, stream=True, stream_id="unused"))
    assert len(pushed) >= 50
    assert all(len(sse_events(chunk)) == 1 for chunk in pushed)  # exactly one SSE event per chunk
    message, still_open = anthropic_stream_message(pushed)
    assert still_open == set()
    assert message["content"] == whole["content"] and message["usage"] == whole["usage"]
    assert message["stop_reason"] == "end_turn" and message["id"] == whole["id"]
    deltas = [name for chunk in pushed for name, _ in sse_events(chunk) if name == "content_block_delta"]
    assert len(deltas) == len(whole["content"][0]["text"].split())  # one delta per word
    assert [chunk.payload for chunk in inline.chunks] == pushed

