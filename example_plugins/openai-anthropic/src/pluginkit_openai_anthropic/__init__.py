"""OpenAI Chat Completions ⇄ Anthropic Messages, as a pluginkit translator (plugin ``openai-anthropic``).

``request.translate`` rewrites a client request for an executor of the other format and ``response.translate``
rewrites the executor's answer back — a whole response, or one SSE event at a time when streaming. Format names
are the pipeline's: ``"openai"`` and ``"claude"``. Any other pair is answered with an empty body, which tells the
pipeline to ask the next translator.

The mapping itself lives in :mod:`.request_mapping`, :mod:`.response_mapping` and :mod:`.stream_mapping`;
:mod:`.anthropic_format` and :mod:`.common` are also used by the example executors; SSE framing is
:mod:`pluginkit.sse`.
"""

from __future__ import annotations

from pluginkit import ABI_VERSION, hookimpl
from pluginkit import types as t
from pluginkit_openai_anthropic import request_mapping, response_mapping, stream_mapping
from pluginkit_openai_anthropic.common import dump, load_object, stable_id

__all__ = ["CLAUDE", "OPENAI", "PLUGINKIT_ABI", "request_translate", "response_translate"]

PLUGINKIT_ABI = ABI_VERSION
__version__ = "1.0.0"

OPENAI = "openai"
CLAUDE = "claude"


_NAMES = {OPENAI: "OpenAI", CLAUDE: "Anthropic"}
_REQUESTS = {
    (OPENAI, CLAUDE): request_mapping.openai_to_anthropic,
    (CLAUDE, OPENAI): request_mapping.anthropic_to_openai,
}
#: (executor format, client format) → (whole-response mapping, stream-event mapping, id prefix of the client format)
_RESPONSES = {
    (CLAUDE, OPENAI): (response_mapping.anthropic_to_openai, stream_mapping.anthropic_to_openai, "chatcmpl-"),
    (OPENAI, CLAUDE): (response_mapping.openai_to_anthropic, stream_mapping.openai_to_anthropic, "msg_"),
}


def _pair(from_format: str, to_format: str) -> tuple[str, str]:
    return from_format.strip().lower(), to_format.strip().lower()


@hookimpl
def request_translate(params: t.RequestTranslateRequest) -> t.BodyResult:
    pair = _pair(params.from_format, params.to_format)
    mapping = _REQUESTS.get(pair)
    if mapping is None:
        return t.BodyResult()
    body = load_object(params.body, f"the {_NAMES[pair[0]]} request")
    return t.BodyResult(body=dump(mapping(body, model=params.model, stream=params.stream)))


@hookimpl
def response_translate(params: t.ResponseTranslateRequest) -> t.BodyResult:
    pair = _pair(params.from_format, params.to_format)
    mappings = _RESPONSES.get(pair)
    if mappings is None:
        return t.BodyResult()
    whole, per_event, id_prefix = mappings
    if params.stream:
        ctx = stream_mapping.StreamContext(
            model=params.model, translated_request=params.translated_request, original_request=params.original_request
        )
        return t.BodyResult(body=per_event(params.body, ctx))
    body = load_object(params.body, f"the {_NAMES[pair[0]]} response")
    fallback = stable_id(id_prefix, params.translated_request, params.original_request)
    return t.BodyResult(body=dump(whole(body, model=params.model, fallback_id=fallback)))
