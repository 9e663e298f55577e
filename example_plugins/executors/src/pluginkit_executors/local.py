"""``local-executor``: a model that needs no network, answering Anthropic Messages requests deterministically.

It serves provider ``local`` in format ``claude``, so an OpenAI client reaching it exercises the whole
translation path (openai → claude → openai). The answer is ``You said: <the last user text>`` followed by a
fixed paragraph, one word per token: the same request always gets the same words, id and usage. ``max_tokens``
truncates the words (``stop_reason: max_tokens``) and the first ``stop_sequences`` match cuts the text
(``stop_reason: stop_sequence``), as a real model would.

Streamed answers are the standard Anthropic event sequence with one ``content_block_delta`` per word, pushed with
``host.stream.emit`` from inside the call — or returned inline when the setting ``inline = true``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any

from pluginkit import ABI_VERSION, PluginContext, PluginError, hookimpl
from pluginkit import types as t
from pluginkit.formats import JSONObject, dump, load_object, stable_id
from pluginkit.formats import anthropic as anthropic_format
from pluginkit_executors.streaming import deliver

__all__ = ["PLUGINKIT_ABI", "PROVIDER", "Reply", "compose"]

PLUGINKIT_ABI = ABI_VERSION
__version__ = "1.0.0"

PROVIDER = "local"
FORMAT = "claude"
#: What follows the echo in every answer; long enough that any streamed answer has more than 50 events.
CLOSING = (
    "This answer comes from the local example executor of pluginkit. It calls no model and opens no network "
    "connection: it repeats the last thing you wrote and then these same sentences, one word at a time, so "
    "that demos and tests can follow every step of a request through the plugins, from translation and "
    "interception to streaming and usage, and always get the same result."
)


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to one request, before it is written as a response or as stream events."""

    message_id: str
    model: str
    words: list[str]
    stop_reason: str
    stop_sequence: str | None
    input_tokens: int

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def usage(self) -> JSONObject:
        return {"input_tokens": self.input_tokens, "output_tokens": len(self.words)}


def _texts(content: Any) -> Iterable[str]:
    """The text of a message's content (a string, or text blocks and the text inside tool results)."""
    if isinstance(content, str):
        yield content
        return
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            yield str(block.get("text", ""))
        elif block.get("type") == "tool_result":
            yield from _texts(block.get("content"))


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            words = " ".join(_texts(message.get("content"))).split()
            if words:
                return " ".join(words)
    return ""


def compose(payload: bytes, model: str = "") -> Reply:
    """Work out the reply to an Anthropic Messages request (raises ``invalid_request`` for a malformed one)."""
    request = load_object(payload, "the Anthropic request")
    messages = request.get("messages")
    if not isinstance(messages, list):
        raise PluginError("invalid_request", "the Anthropic request has no messages")
    echo = _last_user_text(messages)
    text = (f"You said: {echo}" if echo else "You said nothing.") + " " + CLOSING
    stop_reason, stop_sequence = "end_turn", None
    stops = [(text.find(s), s) for s in request.get("stop_sequences") or [] if isinstance(s, str) and s]
    hits = sorted((position, s) for position, s in stops if position >= 0)
    if hits:
        position, stop_sequence = hits[0]
        text, stop_reason = text[:position], "stop_sequence"
    words = text.split()
    max_tokens = request.get("max_tokens")
    if isinstance(max_tokens, int) and 0 < max_tokens < len(words):
        words, stop_reason, stop_sequence = words[:max_tokens], "max_tokens", None
    system = request.get("system")
    prompt = [*_texts(system), *(part for m in messages if isinstance(m, dict) for part in _texts(m.get("content")))]
    return Reply(
        message_id=stable_id("msg_local_", payload),
        model=model or str(request.get("model", "")),
        words=words,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        input_tokens=sum(len(text.split()) for text in prompt),
    )


def _events(reply: Reply) -> Generator[bytes, None, None]:
    yield anthropic_format.message_start(reply.message_id, reply.model, reply.input_tokens)
    yield anthropic_format.content_block_start(0, anthropic_format.text_block(""))
    yield anthropic_format.ping()
    for number, word in enumerate(reply.words):
        yield anthropic_format.text_delta(0, word if number == 0 else f" {word}")
    yield anthropic_format.content_block_stop(0)
    yield anthropic_format.message_delta(reply.stop_reason, reply.usage, reply.stop_sequence)
    yield anthropic_format.message_stop()


@hookimpl
def plugin_register() -> t.Registration:
    # An executor must name the formats it reads and writes, which the hooks alone cannot tell; the setting is
    # declared so the host checks its type. Name, version, author and repository come from pyproject.toml.
    return t.Registration(
        metadata=t.PluginMetadata(
            config_fields=[
                t.ConfigField(
                    name="inline", type="boolean",
                    description="Return streamed events in the call's answer instead of pushing them",
                ),
            ],
        ),
        capabilities=t.Capabilities(executor=True, executor_input_formats=[FORMAT], executor_output_formats=[FORMAT]),
    )


@hookimpl
def executor_identifier() -> t.Identifier:
    return t.Identifier(identifier=PROVIDER)


@hookimpl
def executor_execute(params: t.ExecutorRequest) -> t.ExecutorResponse:
    reply = compose(params.payload, params.model)
    body = anthropic_format.message(
        message_id=reply.message_id, model=reply.model, content=[anthropic_format.text_block(reply.text)],
        stop_reason=reply.stop_reason, stop_sequence=reply.stop_sequence, usage=reply.usage,
    )
    return t.ExecutorResponse(payload=dump(body), headers={"Content-Type": ["application/json"]})


@hookimpl
def executor_execute_stream(params: t.ExecutorRequest, ctx: PluginContext) -> t.ExecutorStreamResult:
    reply = compose(params.payload, params.model)
    return deliver(ctx, params.stream_id, _events(reply), inline=ctx.config.get("inline") is True)
