"""Several example plugins together, on the path the pipeline takes: an OpenAI client served by the Anthropic
``local-executor`` through the ``openai-anthropic`` translator, with ``redact`` masking the stream. Each plugin's
own behaviour is tested beside it, in ``example_plugins/<name>/tests/``."""

from __future__ import annotations

from pathlib import Path

from pluginkit import types as t
from tests.helpers import local_call, openai_stream_completion, plugins, translate_request, translate_stream


def test_openai_client_through_local_executor_with_redaction(on_path: Path) -> None:
    """The path the pipeline takes: translate the request, run the Anthropic executor, translate every event
    back, then let the stream interceptor mask what the model echoed."""
    original = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "mail carol@example.net"}]}
    with plugins(on_path, "openai-anthropic", "local-executor", "redact") as m:
        translated = translate_request(m, "openai", "claude", original, model="local-echo", stream=True)
        stream = m.host.open_stream()
        m.call("executor.execute_stream", local_call(translated, stream=True, stream_id=stream.id))
        events = [chunk.payload for chunk in stream]
        chunks = translate_stream(m, "claude", "openai", events, original=original, translated=translated,
                                  model="gpt-4o")
        delivered = [
            m.call("response.intercept_stream_chunk", t.StreamChunkInterceptRequest(body=chunk, chunk_index=i)).body
            for i, chunk in enumerate(chunks)
        ]
    completion = openai_stream_completion(delivered)
    assert completion["content"].startswith("You said: mail [redacted] This answer comes from")
    assert completion["finish_reason"] == "stop" and completion["models"] == {"gpt-4o"}
    assert "carol@" not in b"".join(delivered).decode()
