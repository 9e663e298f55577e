"""``redact`` (pip-installed, called through a real PluginManager): keys and e-mail addresses masked in bodies
and stream chunks."""

from __future__ import annotations

import json
from pathlib import Path

from pluginkit import types as t
from tests.helpers import dumps, plugins, sse, sse_events

SECRET = "sk-proj-Abcdefghijklmnop1234"


def test_redact_masks_request_and_response_bodies(on_path: Path) -> None:
    request = {"model": "gpt-4o", "messages": [
        {"role": "user", "content": f"My key is {SECRET}.\nMail alice.smith+ai@example.co.uk or bob@corp.example.com"},
    ]}
    headers = {"Authorization": ["Bearer client-token-123456789"], "X-Trace": ["1"]}
    with plugins(on_path, "redact") as m:
        result = m.call("request.intercept_before", t.RequestInterceptRequest(headers=headers, body=dumps(request)))
        masked = json.loads(result.body)
        assert masked["messages"][0]["content"] == "My key is [redacted].\nMail [redacted] or [redacted]"
        assert masked["model"] == "gpt-4o"
        assert result.clear_headers == [] and result.headers in ({}, headers)  # no header is changed
        clean = dumps({"messages": [{"role": "user", "content": "nothing to hide, 2 @ 3"}]})
        assert m.call("request.intercept_before", t.RequestInterceptRequest(body=clean)).body == clean
        response = dumps({"content": [{"type": "text", "text": f"Sure: {SECRET} / root@localhost.example"}]})
        after = m.call("response.intercept_after", t.ResponseInterceptRequest(body=response))
        assert json.loads(after.body) == {"content": [{"type": "text", "text": "Sure: [redacted] / [redacted]"}]}


def test_redact_masks_stream_chunks(on_path: Path) -> None:
    chunks = [
        sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " ops@example.org"}},
            "content_block_delta"),
        sse({"choices": [{"delta": {"content": f"key={SECRET}"}}]}),
        sse({"choices": [{"delta": {"content": "harmless"}}]}),
        b"data: [DONE]\n\n",
    ]
    with plugins(on_path, "redact") as m:
        header = m.call("response.intercept_stream_chunk", t.StreamChunkInterceptRequest(chunk_index=-1))
        assert header.body == b"" and not header.drop_chunk
        out = [
            m.call("response.intercept_stream_chunk", t.StreamChunkInterceptRequest(body=chunk, chunk_index=i)).body
            for i, chunk in enumerate(chunks)
        ]
    assert out[0] == sse({"type": "content_block_delta", "index": 0,
                          "delta": {"type": "text_delta", "text": " [redacted]"}}, "content_block_delta")
    assert json.loads(sse_events(out[1])[0][1] or "")["choices"][0]["delta"]["content"] == "key=[redacted]"
    assert out[2:] == chunks[2:]

