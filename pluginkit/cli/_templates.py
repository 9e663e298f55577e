"""The projects ``pluginkit new`` writes: per kind, the plugin's module and its test (``str.format`` templates:
``{package}``, ``{name}``, ``{abi}``; literal braces doubled).

Each module is the smallest idiomatic plugin of its kind, and each test calls it as a host would, so a generated
project's tests pass before anything is changed (``tests/cli/test_new.py`` installs and tests every kind).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["KINDS", "Kind"]


class Kind(NamedTuple):
    summary: str
    module: str
    test: str
    #: The entry point's attribute (``""``: the module itself).
    entry: str = ""
    #: More dependencies, as ``, "name"`` pieces of the TOML list.
    extra: str = ""


_HEAD = '''
"""{summary}."""

from __future__ import annotations

from pluginkit import ABI_VERSION, PluginContext, hookimpl
from pluginkit import types as t

PLUGINKIT_ABI = ABI_VERSION  # the plugin ABI this module was written for (the host refuses another major)
'''

_TEST_HEAD = '''
from __future__ import annotations

import pytest

from pluginkit import PluginManager, PluginState
from pluginkit import types as t

import {package}


def manager() -> PluginManager:
    """A manager holding only this plugin, as a host would load it (entry points aside)."""
    m = PluginManager(entry_points=False, environ={{}})
    info = m.register({package}, "{name}")
    assert info.state is PluginState.ACTIVE, info.reason
    return m
'''

SCHEDULER = Kind(
    "A scheduler: picks the credential a request uses",
    _HEAD + '''

@hookimpl
def scheduler_pick(params: t.SchedulerPickRequest, ctx: PluginContext) -> t.SchedulerPickResult:
    """Prefer the credential named by the ``prefer`` setting; otherwise leave the choice to round-robin."""
    prefer = str(ctx.config.get("prefer", ""))
    if any(candidate.id == prefer for candidate in params.candidates):
        return t.SchedulerPickResult(auth_id=prefer, handled=True)
    return t.SchedulerPickResult(delegate_builtin="round-robin", handled=True)
''',
    _TEST_HEAD + '''

def test_it_picks_the_preferred_credential_or_delegates() -> None:
    request = t.SchedulerPickRequest(candidates=[t.SchedulerCandidate(id="a"), t.SchedulerCandidate(id="b")])
    with manager() as m:
        assert m.call("scheduler.pick", request).delegate_builtin == "round-robin"
        m.reconfigure({{"plugins": {{"{name}": {{"prefer": "b"}}}}}})
        assert m.call("scheduler.pick", request).auth_id == "b"


@pytest.fixture
def pluginkit_scheduler() -> object:
    """The plugin, with settings: pluginkit's scheduler conformance kit runs against it (TestSchedulerContract)."""
    return {package}, {{"prefer": "b"}}
''',
)

REQUEST_TRANSLATOR = Kind(
    "A request translator: rewrites a request body from one API format to another",
    _HEAD + '''
from pluginkit.formats import dump, load_object

FROM, TO = "openai", "my-api"


@hookimpl
def request_translate(params: t.RequestTranslateRequest) -> t.BodyResult | None:
    """Translate ``FROM`` requests to ``TO``; answering ``None`` leaves other pairs to other translators."""
    if (params.from_format, params.to_format) != (FROM, TO):
        return None
    request = load_object(params.body, "the request")
    translated = {{"model": params.model, "input": request.get("messages", []), "stream": params.stream}}
    return t.BodyResult(body=dump(translated))
''',
    _TEST_HEAD + '''
from pluginkit.formats import load_object


def test_it_translates_its_pair_only() -> None:
    body = b'{{"model": "m", "messages": [{{"role": "user", "content": "hi"}}]}}'
    request = t.RequestTranslateRequest(from_format="openai", to_format="my-api", model="m", body=body)
    with manager() as m:
        translated = load_object(m.call("request.translate", request).body, "answer")
        assert translated == {{"model": "m", "input": [{{"role": "user", "content": "hi"}}], "stream": False}}
        other = m.invoke("request.translate", {{"FromFormat": "claude", "ToFormat": "openai", "Body": "e30="}})
        assert other.error is not None and other.error.code == "not_handled"


@pytest.fixture
def pluginkit_translator() -> object:
    """The plugin and bodies it translates: pluginkit's translator kit runs against them."""
    return {package}, [("openai", "my-api", b'{{"model": "m", "messages": []}}')]
''',
)

RESPONSE_TRANSLATOR = Kind(
    "A response translator: rewrites an answer back into the client's API format",
    _HEAD + '''
from pluginkit.formats import dump, load_object

FROM, TO = "my-api", "openai"


@hookimpl
def response_translate(params: t.ResponseTranslateRequest) -> t.BodyResult | None:
    """Translate ``FROM`` answers to ``TO`` (whole bodies; a stream event when ``params.stream``)."""
    if (params.from_format, params.to_format) != (FROM, TO) or params.stream:
        return None
    answer = load_object(params.body, "the answer")
    message = {{"role": "assistant", "content": answer.get("output", "")}}
    choices = [{{"index": 0, "message": message, "finish_reason": "stop"}}]
    return t.BodyResult(body=dump({{"object": "chat.completion", "model": params.model, "choices": choices}}))
''',
    _TEST_HEAD + '''
from pluginkit.formats import load_object


def test_it_translates_an_answer_back() -> None:
    params = t.ResponseTranslateRequest(from_format="my-api", to_format="openai", model="m", body=b'{{"output": "hi"}}')
    with manager() as m:
        answer = load_object(m.call("response.translate", params).body, "answer")
    assert answer["choices"][0]["message"] == {{"role": "assistant", "content": "hi"}}


@pytest.fixture
def pluginkit_translator() -> object:
    """The plugin and answers it translates: pluginkit's translator kit runs against them."""
    return {package}, [("response", "my-api", "openai", b'{{"output": "hi"}}')]
''',
)

INTERCEPTOR = Kind(
    "A request interceptor: changes a request's headers or body before it is sent",
    _HEAD + '''

@hookimpl
def request_intercept_before(params: t.RequestInterceptRequest) -> t.InterceptResult:
    """Tag every request; the answer's header changes are merged, an empty body keeps the request's."""
    return t.InterceptResult(headers={{"X-Intercepted-By": ["{name}"]}}, clear_headers=["X-Debug"])
''',
    _TEST_HEAD + '''

def test_it_tags_the_request() -> None:
    request = t.RequestInterceptRequest(headers={{"X-Debug": ["1"]}}, body=b"{{}}")
    with manager() as m:
        answer = m.call("request.intercept_before", request)
    assert answer.headers == {{"X-Intercepted-By": ["{name}"]}} and answer.clear_headers == ["X-Debug"]


@pytest.fixture
def pluginkit_interceptor() -> object:
    """The plugin: pluginkit's interceptor kit runs against it."""
    return {package}
''',
)

STREAM_INTERCEPTOR = Kind(
    "A stream chunk interceptor: sees every chunk of a streamed answer",
    _HEAD + '''

@hookimpl
def response_intercept_stream_chunk(params: t.StreamChunkInterceptRequest) -> t.StreamChunkInterceptResult:
    """Drop SSE comment lines (keep-alives such as ``: ping``); every other chunk goes through unchanged."""
    if params.chunk_index >= 0 and params.body.startswith(b":"):
        return t.StreamChunkInterceptResult(drop_chunk=True)
    return t.StreamChunkInterceptResult()
''',
    _TEST_HEAD + '''

def test_it_drops_comments_only() -> None:
    with manager() as m:
        def call(index: int, body: bytes) -> t.StreamChunkInterceptResult:
            params = t.StreamChunkInterceptRequest(chunk_index=index, body=body)
            return m.call("response.intercept_stream_chunk", params)

        assert call(0, b": ping\\n\\n").drop_chunk
        assert not call(1, b"data: {{}}\\n\\n").drop_chunk
        assert not call(-1, b"").drop_chunk  # the header call, before the first chunk


@pytest.fixture
def pluginkit_stream_interceptor() -> object:
    """The plugin: pluginkit's stream interceptor kit runs against it."""
    return {package}
''',
)

EXECUTOR = Kind(
    "An executor: answers requests for a provider (here: an echo, no network)",
    _HEAD + '''
from pluginkit import PluginKitError, sse
from pluginkit.formats import dump, load_object

PROVIDER, FORMAT = "{name}", "openai"


@hookimpl
def plugin_register() -> t.Registration:
    # An executor names the formats it reads and writes; name, version and author come from pyproject.toml.
    return t.Registration(
        capabilities=t.Capabilities(executor=True, executor_input_formats=[FORMAT], executor_output_formats=[FORMAT])
    )


@hookimpl
def executor_identifier() -> t.Identifier:
    return t.Identifier(identifier=PROVIDER)


def _reply(params: t.ExecutorRequest) -> str:
    messages = load_object(params.payload, "the request").get("messages") or [{{}}]
    return f"echo: {{messages[-1].get('content', '')}}"


@hookimpl
def executor_execute(params: t.ExecutorRequest) -> t.ExecutorResponse:
    message = {{"role": "assistant", "content": _reply(params)}}
    answer = {{"object": "chat.completion", "model": params.model, "choices": [{{"index": 0, "message": message}}]}}
    return t.ExecutorResponse(payload=dump(answer), headers={{"Content-Type": ["application/json"]}})


@hookimpl
def executor_execute_stream(params: t.ExecutorRequest, ctx: PluginContext) -> t.ExecutorStreamResult:
    """Push one event per word while the call runs, then end the stream (every event in the answer when there is
    no stream to push to)."""
    chunks = [{{"index": 0, "delta": {{"content": word}}}} for word in _reply(params).split(" ")]
    events = [sse.encode_json({{"object": "chat.completion.chunk", "choices": [chunk]}}) for chunk in chunks]
    events.append(sse.DONE)
    if not params.stream_id:
        return t.ExecutorStreamResult(chunks=[t.StreamChunk(payload=event) for event in events])
    for event in events:
        try:
            ctx.emit(params.stream_id, event)
        except PluginKitError:  # the client went away: stop producing
            return t.ExecutorStreamResult()
    ctx.close_stream(params.stream_id)
    return t.ExecutorStreamResult()
''',
    _TEST_HEAD + '''
import asyncio

from pluginkit.formats import load_object
from pluginkit.pipeline import Pipeline, Request
from pluginkit.scheduling import Credential

BODY = b'{{"model": "m", "messages": [{{"role": "user", "content": "hello there"}}]}}'


def pipeline(m: PluginManager) -> Pipeline:
    return Pipeline(m, credentials=[Credential("key-1", "{name}")], routes={{"*": ["{name}"]}})


def test_it_answers_a_request() -> None:
    with manager() as m:
        response = asyncio.run(pipeline(m).execute(Request(format="openai", model="m", body=BODY)))
    assert load_object(response.body, "answer")["choices"][0]["message"]["content"] == "echo: hello there"


def test_it_streams_one_event_per_word() -> None:
    async def chunks(m: PluginManager) -> list[bytes]:
        return [chunk async for chunk in pipeline(m).stream(Request(format="openai", model="m", body=BODY,
                                                                    stream=True))]

    with manager() as m:
        events = asyncio.run(chunks(m))
    assert len(events) == 4 and events[-1] == b"data: [DONE]\\n\\n"


@pytest.fixture
def pluginkit_executor() -> object:
    """The plugin and a request it serves: pluginkit's executor kit runs against them."""
    return {package}, t.ExecutorRequest(model="m", format="openai", payload=BODY)
''',
)

USAGE = Kind(
    "A usage recorder: receives a record of every request",
    _HEAD + '''

@hookimpl
def usage_handle(params: t.UsageRecord, ctx: PluginContext) -> None:
    """Log each request's tokens and latency (a real recorder writes them somewhere: a file, a database)."""
    ctx.log.info(
        "%s via %s: %d tokens in %.1f ms%s", params.model, params.provider or "-", params.detail.total_tokens,
        params.latency_ns / 1e6, " (failed)" if params.failed else "",
    )
''',
    _TEST_HEAD + '''
import logging


def test_it_records_a_request(caplog: pytest.LogCaptureFixture) -> None:
    record = t.UsageRecord(model="m", provider="p", latency_ns=2_500_000, detail=t.UsageDetail(total_tokens=7))
    with caplog.at_level(logging.INFO), manager() as m:
        m.call("usage.handle", record)
    assert "m via p: 7 tokens in 2.5 ms" in caplog.text


@pytest.fixture
def pluginkit_usage_recorder() -> object:
    """The plugin: pluginkit's usage recorder kit runs against it."""
    return {package}
''',
)

TOOLS = Kind(
    "A tool set: functions a host (and its model) can call",
    '''
"""{summary}."""

from __future__ import annotations

from pluginkit.tools import ToolSet

tools = ToolSet("{name}")  # declares PLUGINKIT_ABI and implements tool.list / tool.call itself


@tools.tool
def word_count(text: str, unique: bool = False) -> int:
    """Count the words of a text.

    Args:
        text: the text to count
        unique: count each distinct word once
    """
    words = text.split()
    return len(set(words)) if unique else len(words)
''',
    '''
from __future__ import annotations

import pytest

from pluginkit import PluginManager
from pluginkit.tools import ToolRegistry

from {package} import tools


def test_the_tool_counts_words() -> None:
    assert tools.call("word_count", {{"text": "to be or not to be"}}).text == "6"
    assert tools.call("word_count", {{"text": "to be or not to be", "unique": True}}).text == "4"
    assert tools.call("word_count", {{}}).is_error  # the schema requires text


def test_a_host_reaches_it_through_the_registry() -> None:
    with PluginManager(entry_points=False, environ={{}}) as m:
        m.register(tools, "{name}")
        assert ToolRegistry(m).call("word_count", {{"text": "a b c"}}).text == "3"


@pytest.fixture
def pluginkit_tools() -> object:
    """The tool set: pluginkit's tools kit runs against it."""
    return tools
''',
    entry="tools",
)

SESSION_STORE = Kind(
    "A session store: where a host keeps its chat sessions",
    '''
"""{summary}.

Start from the in-memory model and replace its storage: subclass ``pluginkit.sessions.BaseSessionStore`` and
implement its backend methods (``docs/sessions.md``, "The backend"); the conformance kit in the tests holds the
store to the session contract whatever it keeps its data in.
"""

from __future__ import annotations

from typing import Any

from pluginkit import ABI_VERSION
from pluginkit.sessions import InMemorySessionStore, SessionStorePlugin


class Store(InMemorySessionStore):
    """The store; its settings are the plugin's (``[plugins.{name}]``)."""

    def __init__(self, settings: Any) -> None:
        super().__init__()
        self.settings = dict(settings)


plugin = SessionStorePlugin(Store, abi_version=ABI_VERSION)
''',
    '''
from __future__ import annotations

from collections.abc import Iterator

import pytest

from {package} import Store


@pytest.fixture
def pluginkit_session_store() -> Iterator[Store]:
    """The store under test: the module then runs pluginkit's session-store conformance kit against it."""
    yield Store({{}})
''',
    entry="plugin",
)

#: ``pluginkit new KIND``: every kind of plugin a project can start as.
KINDS: dict[str, Kind] = {
    "scheduler": SCHEDULER,
    "request-translator": REQUEST_TRANSLATOR,
    "response-translator": RESPONSE_TRANSLATOR,
    "interceptor": INTERCEPTOR,
    "stream-interceptor": STREAM_INTERCEPTOR,
    "executor": EXECUTOR,
    "usage": USAGE,
    "tools": TOOLS,
    "session-store": SESSION_STORE,
}
