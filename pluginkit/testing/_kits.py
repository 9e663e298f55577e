"""The conformance kits of the plugin families beside session stores: what every plugin of a family must do,
whatever else it does. Each kit is a test class; a test module defining its fixture collects it (see
:mod:`pluginkit.testing`).

Every fixture returns the plugin under test (a module or an object, as its entry point names it), or
``(plugin, settings)``. The kit registers it alone with a manager and calls it as a host does, so a failure names
the rule and shows the call. Random inputs come from hypothesis, imported by the tests that need it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from pluginkit import PluginKitError, PluginManager, PluginState
from pluginkit import types as t

__all__ = [
    "ExecutorContract",
    "RequestInterceptorContract",
    "SchedulerContract",
    "StreamInterceptorContract",
    "ToolsContract",
    "TranslatorContract",
    "UsageRecorderContract",
]

#: Answers a plugin may give instead of a result: a documented refusal, never a crash (``plugin_error``).
REFUSALS = frozenset({
    "invalid_request", "not_handled", "not_found", "scheduler_denied", "upstream_error", "timeout", "host_call_failed",
})


def loaded(subject: Any) -> Iterator[PluginManager]:
    """A manager holding only the plugin under test, active."""
    plugin, settings = subject if isinstance(subject, tuple) else (subject, {})
    with PluginManager(entry_points=False, environ={}) as manager:
        info = manager.register(plugin, "under-test", settings=settings)
        assert info.state is PluginState.ACTIVE, f"the plugin did not load: {info.reason}"
        assert not info.problems, f"the plugin loaded with problems: {info.problems}"
        yield manager


def answer(manager: PluginManager, method: str, params: Any) -> Any:
    """The plugin's answer, or the code of a documented refusal; a crash fails the test naming the call — also
    where the method's rule would absorb it (a chain keeps the body, a fan-out leaves the plugin out)."""
    notes: list[tuple[str, str]] = []
    try:
        result = manager.call_plugin("under-test", method, params) if _PINNED.get(method) else manager.call(
            method, params, notes=notes
        )
    except PluginKitError as exc:
        assert exc.code in REFUSALS, f"{method} failed with {exc.code}: {exc.message}\n  params: {params!r}"
        return exc.code
    for _, outcome in notes:
        code = outcome.removeprefix("error:")
        assert code == outcome or code in REFUSALS, f"{method} failed with {code}\n  params: {params!r}"
        if code != outcome:
            return code
    return result


#: Methods asked of the plugin under test directly: the host would route them to it by provider.
_PINNED = {"executor.execute": True, "executor.execute_stream": True}


#: A test decorator (``hypothesis.given(...)``, ``hypothesis.settings(...)``).
Decorator = Callable[[Callable[..., None]], Callable[..., None]]


def _hypothesis() -> tuple[Callable[..., Decorator], Any]:
    """``given`` and the strategies module: imported by the tests that draw random inputs, not with the kit."""
    import hypothesis  # deferred: hypothesis takes ~0.3 s to import, and the kit loads in every pytest run

    given: Callable[..., Decorator] = hypothesis.given
    return given, hypothesis.strategies


def _settings() -> Decorator:
    from hypothesis import HealthCheck, settings  # deferred: hypothesis is slow to import

    chosen: Decorator = settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    return chosen


def _headers() -> Any:
    _, st = _hypothesis()
    name = st.text("abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12)
    return st.dictionaries(name, st.lists(st.text(max_size=20), min_size=1, max_size=2), max_size=4)


class SchedulerContract:
    """``pluginkit_scheduler``: a scheduler picks among the candidates it is offered, or hands the choice on."""

    @pytest.fixture
    def manager(self, pluginkit_scheduler: Any) -> Iterator[PluginManager]:
        yield from loaded(pluginkit_scheduler)

    def test_answers_only_among_the_candidates(self, manager: PluginManager) -> None:
        given, st = _hypothesis()

        ids = st.lists(st.text("abcdefgh0123456789-", min_size=1, max_size=8), unique=True, max_size=5)

        @_settings()
        @given(ids=ids, stream=st.booleans(), model=st.text(max_size=10))
        def check(ids: list[str], stream: bool, model: str) -> None:
            request = t.SchedulerPickRequest(
                provider="p", model=model, stream=stream, candidates=[t.SchedulerCandidate(id=i) for i in ids],
            )
            pick = answer(manager, "scheduler.pick", request)
            if isinstance(pick, str):  # a refusal (scheduler_denied, …)
                return
            assert pick.delegate_builtin in ("", *t.BUILTIN_SCHEDULERS), f"unknown delegate {pick.delegate_builtin!r}"
            if pick.auth_id:
                assert pick.auth_id in ids, f"picked {pick.auth_id!r}, not among the candidates {ids}"

        check()

    def test_handles_no_candidates(self, manager: PluginManager) -> None:
        pick = answer(manager, "scheduler.pick", t.SchedulerPickRequest(provider="p", model="m"))
        assert isinstance(pick, str) or not pick.auth_id, "picked a credential when none was offered"


class TranslatorContract:
    """``pluginkit_translator``: ``(plugin, samples)`` where samples are ``(from_format, to_format, body)`` the
    plugin translates (request bodies; ``("response", from, to, body)`` for answers). A translator answers a
    translation or declines, the same every time, and refuses a broken body rather than crashing."""

    @pytest.fixture
    def subject(self, pluginkit_translator: Any) -> Iterator[tuple[PluginManager, list[tuple[Any, ...]]]]:
        plugin, samples = pluginkit_translator
        for manager in loaded(plugin):
            yield manager, list(samples)

    @staticmethod
    def _call(manager: PluginManager, sample: tuple[Any, ...], body: bytes) -> Any:
        if sample[0] == "response":
            _, source, target, _ = sample
            params: Any = t.ResponseTranslateRequest(from_format=source, to_format=target, model="m", body=body)
            return answer(manager, "response.translate", params)
        source, target, _ = sample
        return answer(manager, "request.translate", t.RequestTranslateRequest(
            from_format=source, to_format=target, model="m", body=body,
        ))

    def test_translates_its_samples_the_same_every_time(self, subject: Any) -> None:
        manager, samples = subject
        assert samples, "give the kit at least one sample the plugin translates"
        for sample in samples:
            first = self._call(manager, sample, sample[-1])
            assert not isinstance(first, str) and first.body, f"{sample[:-1]} was not translated: {first!r}"
            assert self._call(manager, sample, sample[-1]) == first, f"{sample[:-1]}: a second call differs"

    def test_what_it_produced_translates_back(self, subject: Any) -> None:
        """Where the plugin translates both ways, its output of a sample is valid input of the reverse pair: the
        round trip is translated (a body), not refused."""
        manager, samples = subject
        for sample in samples:
            first = self._call(manager, sample, sample[-1])
            if isinstance(first, str):
                continue
            reverse = (*sample[:-3], sample[-2], sample[-3], first.body)
            back = self._call(manager, reverse, first.body)
            if back == "not_handled" or (not isinstance(back, str) and not back.body):
                continue  # the plugin does not translate this way back
            assert not isinstance(back, str), f"{reverse[:-1]}: the plugin refused its own output: {back}"

    def test_a_broken_body_is_refused_not_a_crash(self, subject: Any) -> None:
        given, st = _hypothesis()

        manager, samples = subject

        @_settings()
        @given(index=st.integers(0, max(len(samples) - 1, 0)), body=st.binary(max_size=64))
        def check(index: int, body: bytes) -> None:
            if samples:
                self._call(manager, samples[index], body)  # answer() fails on anything but a refusal

        check()


class RequestInterceptorContract:
    """``pluginkit_interceptor``: a ``request.intercept_before`` interceptor answers header changes (lists of
    strings), names to clear, and a body (empty: keep it), for any request."""

    @pytest.fixture
    def manager(self, pluginkit_interceptor: Any) -> Iterator[PluginManager]:
        yield from loaded(pluginkit_interceptor)

    def test_answers_well_formed_changes_for_any_request(self, manager: PluginManager) -> None:
        given, st = _hypothesis()

        @_settings()
        @given(headers=_headers(), body=st.binary(max_size=64), stream=st.booleans())
        def check(headers: dict[str, list[str]], body: bytes, stream: bool) -> None:
            request = t.RequestInterceptRequest(source_format="openai", model="m", headers=headers, body=body,
                                                stream=stream)
            result = answer(manager, "request.intercept_before", request)
            if isinstance(result, str):
                return
            assert all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in result.headers.values())
            assert all(isinstance(name, str) and name for name in result.clear_headers)
            assert isinstance(result.body, bytes)

        check()


class StreamInterceptorContract:
    """``pluginkit_stream_interceptor``: answers the header call (index -1, no body) and every chunk; dropping
    is for chunks, not the header call."""

    @pytest.fixture
    def manager(self, pluginkit_stream_interceptor: Any) -> Iterator[PluginManager]:
        yield from loaded(pluginkit_stream_interceptor)

    def test_the_header_call(self, manager: PluginManager) -> None:
        result = answer(manager, "response.intercept_stream_chunk", t.StreamChunkInterceptRequest(chunk_index=-1))
        assert isinstance(result, str) or not result.drop_chunk, "dropped the header call (there is no chunk)"

    def test_any_chunk(self, manager: PluginManager) -> None:
        given, st = _hypothesis()

        @_settings()
        @given(body=st.binary(max_size=80), index=st.integers(0, 10_000), history=st.lists(st.binary(max_size=20),
                                                                                           max_size=3))
        def check(body: bytes, index: int, history: list[bytes]) -> None:
            params = t.StreamChunkInterceptRequest(chunk_index=index, body=body, history_chunks=history)
            result = answer(manager, "response.intercept_stream_chunk", params)
            assert isinstance(result, str) or isinstance(result.body, bytes)

        check()


class ExecutorContract:
    """``pluginkit_executor``: ``(plugin, request)``, an ``ExecutorRequest`` it serves (``model``, ``format``,
    ``payload``). Its stream is the same whether pushed or returned inline, and it stops when the consumer goes."""

    @pytest.fixture
    def subject(self, pluginkit_executor: Any) -> Iterator[tuple[PluginManager, t.ExecutorRequest]]:
        plugin, request = pluginkit_executor
        for manager in loaded(plugin):
            yield manager, request

    def test_answers_the_request(self, subject: Any) -> None:
        manager, request = subject
        response = answer(manager, "executor.execute", request)
        assert not isinstance(response, str) and response.payload, f"no answer: {response!r}"

    def test_pushed_and_inline_streams_are_the_same(self, subject: Any) -> None:
        manager, request = subject
        stream = manager.host.open_stream()
        try:
            result = answer(manager, "executor.execute_stream", attrs.evolve(request, stream=True, stream_id=stream.id))
            assert not isinstance(result, str), result
            stream.close()
            pushed = [chunk.payload for chunk in result.chunks] or [chunk.payload for chunk in stream]
        finally:
            manager.host.release_stream(stream)
        inline = answer(manager, "executor.execute_stream", attrs.evolve(request, stream=True, stream_id=""))
        assert not isinstance(inline, str), inline
        assert pushed, "the stream was empty"
        assert [chunk.payload for chunk in inline.chunks] == pushed, "inline chunks differ from the pushed ones"

    def test_stops_when_the_consumer_goes(self, subject: Any) -> None:
        manager, request = subject
        stream = manager.host.open_stream()
        stream.cancel()  # the client went away before the first chunk: emits are refused
        try:
            answer(manager, "executor.execute_stream", attrs.evolve(request, stream=True, stream_id=stream.id))
        finally:
            manager.host.release_stream(stream)


class UsageRecorderContract:
    """``pluginkit_usage_recorder``: takes any record, failed ones and empty ones included."""

    @pytest.fixture
    def manager(self, pluginkit_usage_recorder: Any) -> Iterator[PluginManager]:
        yield from loaded(pluginkit_usage_recorder)

    def test_takes_any_record(self, manager: PluginManager) -> None:
        given, st = _hypothesis()

        @_settings()
        @given(model=st.text(max_size=20), tokens=st.integers(0, 10**9), latency=st.integers(0, 10**12),
               failed=st.booleans())
        def check(model: str, tokens: int, latency: int, failed: bool) -> None:
            record = t.UsageRecord(model=model, latency_ns=latency, failed=failed,
                                   detail=t.UsageDetail(input_tokens=tokens, total_tokens=tokens))
            answer(manager, "usage.handle", record)

        check()
        answer(manager, "usage.handle", t.UsageRecord())


class ToolsContract:
    """``pluginkit_tools``: lists valid tools, and every tool answers a typed result — an error result for
    arguments it cannot take, never a crash."""

    @pytest.fixture
    def manager(self, pluginkit_tools: Any) -> Iterator[PluginManager]:
        yield from loaded(pluginkit_tools)

    def test_lists_valid_tools(self, manager: PluginManager) -> None:
        from pluginkit.tools import ToolRegistry  # deferred: the tools family loads when its kit runs

        entries = ToolRegistry(manager).list_tools()
        assert entries, "no tools listed"
        for entry in entries:
            schema = entry.tool.input_schema
            assert schema.get("type") == "object", f"{entry.name}: the input schema's root is not an object"
            assert entry.tool.description.strip(), f"{entry.name}: no description"

    def test_every_tool_answers_a_typed_result(self, manager: PluginManager) -> None:
        from pluginkit.tools import CallToolResult, ToolRegistry  # deferred: as above

        registry = ToolRegistry(manager)
        for entry in registry.list_tools():
            for arguments in ({}, {"unexpected": 1}):
                result = registry.call(entry.name, arguments)
                assert isinstance(result, CallToolResult), f"{entry.name}: answered {type(result).__name__}"
                if result.is_error:
                    code = (result.meta.get("pluginkit/error") or {}).get("code")
                    assert code != "plugin_error", f"{entry.name} crashed on {arguments}: {result.text}"
