"""A plugin's in-place changes to its params reach neither the host, nor another plugin, nor the answer
(docs/hosting.md): every stage of a whole request gets headers, query and metadata of its own, as a seed plugin gets
its own unmarshalled copy of the JSON."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from pluginkit import PluginError, hookimpl
from pluginkit import types as t
from pluginkit.pipeline import Pipeline, Request
from pluginkit.scheduling import Credential
from tests.pipeline.test_pipeline import Executor, build

HEADERS = {"Authorization": ["Bearer ok"], "X-Trace": ["a", "b"]}
QUERY = {"key": ["1"]}
METADATA = {"tenant": "t1", "tags": ["x"], "limits": {"rpm": [10]}}


def vandalise(mapping: dict[str, Any]) -> None:
    """What a careless plugin does to a mapping it was given: adds a key, changes a value, appends to a list."""
    for value in list(mapping.values()):
        if isinstance(value, list):
            value.append("vandal")
        elif isinstance(value, dict):
            vandalise(value)
    mapping["X-Vandal"] = ["1"]


class Vandal:
    """Records what each stage was given, then changes all of it in place."""

    def __init__(self) -> None:
        self.seen: dict[str, Any] = {}

    def _see(self, stage: str, **given: Any) -> None:
        self.seen[stage] = copy.deepcopy(given)
        for value in given.values():
            vandalise(value)

    @hookimpl
    def frontend_auth_authenticate(self, params: t.FrontendAuthRequest) -> t.FrontendAuthResult:
        self._see("auth", headers=params.headers, query=params.query)
        return t.FrontendAuthResult(authenticated=True, principal="p")

    @hookimpl
    def request_intercept_before(self, params: t.RequestInterceptRequest) -> t.InterceptResult:
        self._see("before", headers=params.headers, metadata=params.metadata)
        return t.InterceptResult(body=params.body)

    @hookimpl
    def scheduler_pick(self, params: t.SchedulerPickRequest) -> t.SchedulerPickResult:
        self._see("pick", headers=params.options.headers, metadata=params.options.metadata)
        for candidate in params.candidates:
            vandalise(candidate.attributes)
        params.providers.append("vandal")
        return t.SchedulerPickResult(handled=False)

    @hookimpl
    def thinking_identifier(self) -> t.Identifier:
        return t.Identifier(identifier="local")

    @hookimpl
    def thinking_apply(self, params: t.ThinkingApplyRequest) -> t.BodyResult:
        self.seen["thinking"] = params.config.budget
        params.config.budget = 1
        return t.BodyResult(body=params.body)

    @hookimpl
    def response_intercept_after(self, params: t.ResponseInterceptRequest) -> t.InterceptResult:
        self._see(
            "after", request_headers=params.request_headers, response_headers=params.response_headers,
            metadata=params.metadata,
        )
        return t.InterceptResult(body=params.body)


class VandalExecutor(Executor):
    """Fails its first call retryably; every call changes what it was given first."""

    def __init__(self) -> None:
        super().__init__()
        self.given: list[dict[str, Any]] = []

    @hookimpl
    def executor_execute(self, params: t.ExecutorRequest) -> t.ExecutorResponse:
        self.given.append(copy.deepcopy({
            "headers": params.headers, "query": params.query, "metadata": params.metadata,
            "auth_metadata": params.auth_metadata, "auth_attributes": params.auth_attributes,
        }))
        for mapping in (params.headers, params.query, params.metadata, params.auth_metadata, params.auth_attributes):
            vandalise(mapping)
        if len(self.given) == 1:
            raise PluginError("upstream_error", "try another", True, http_status=503)
        return t.ExecutorResponse(payload=b"ok", headers={"X-Up": ["1"]})


def test_no_stage_sees_another_stages_in_place_changes() -> None:
    vandal, executor = Vandal(), VandalExecutor()
    pipeline: Pipeline = build(("vandal", vandal), ("exec", executor))
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b, response=lambda b, m, s: b)
    credentials = [
        Credential(f"auth-{i}", "local", metadata={"project": {"id": "p1"}}, attributes={"region": "eu"})
        for i in (1, 2)
    ]
    pipeline.scheduler.credentials = credentials
    request = Request(
        format="openai", model="m", body=b"{}", headers=copy.deepcopy(HEADERS), query=copy.deepcopy(QUERY),
        metadata=copy.deepcopy(METADATA), thinking=t.ThinkingConfig(mode="budget", budget=500),
    )
    response = asyncio.run(pipeline.execute(request))

    with_principal = {**METADATA, "principal": "p"}
    assert vandal.seen["auth"] == {"headers": HEADERS, "query": QUERY}
    assert vandal.seen["before"] == {"headers": HEADERS, "metadata": with_principal}
    assert vandal.seen["pick"] == {"headers": HEADERS, "metadata": with_principal}  # the retry's pick too
    assert vandal.seen["thinking"] == 500 and request.thinking == t.ThinkingConfig(mode="budget", budget=500)
    for given in executor.given:  # the retry too: the first attempt's changes are gone
        assert given == {
            "headers": HEADERS, "query": QUERY, "metadata": with_principal,
            "auth_metadata": {"project": {"id": "p1"}}, "auth_attributes": {"region": "eu"},
        }
    assert len(executor.given) == 2
    assert vandal.seen["after"] == {
        "request_headers": HEADERS, "response_headers": {"X-Up": ["1"]}, "metadata": with_principal,
    }
    # nor the caller's request, the host's credentials, or the answer
    assert (request.headers, request.query, request.metadata) == (HEADERS, QUERY, METADATA)
    assert [(c.metadata, c.attributes) for c in credentials] == [({"project": {"id": "p1"}}, {"region": "eu"})] * 2
    assert response.headers == {"X-Up": ["1"]}


class ChunkVandal:
    """A lone stream interceptor that changes its params' headers and metadata in place on every call."""

    def __init__(self) -> None:
        self.seen_request: list[dict[str, list[str]]] = []

    @hookimpl
    def response_intercept_stream_chunk(self, params: t.StreamChunkInterceptRequest) -> t.StreamChunkInterceptResult:
        self.seen_request.append(copy.deepcopy(params.request_headers))
        vandalise(params.response_headers)
        vandalise(params.request_headers)
        vandalise(params.metadata)
        return t.StreamChunkInterceptResult(body=params.body)


def test_a_stream_interceptors_in_place_changes_do_not_reach_the_answer_or_the_caller() -> None:
    from tests.pipeline.test_pipeline import native_pipeline

    interceptor = ChunkVandal()
    pipeline, _ = native_pipeline([b"a", b"b", b"c"], ("vandal", interceptor))
    request = Request(
        format="openai", model="m", body=b"{}", stream=True, headers=copy.deepcopy(HEADERS),
        metadata=copy.deepcopy(METADATA),
    )

    async def run() -> tuple[list[bytes], Any]:
        stream = pipeline.stream(request)
        return [chunk async for chunk in stream], stream

    chunks, stream = asyncio.run(run())
    assert chunks == [b"a", b"b", b"c"]
    assert "X-Vandal" not in stream.headers and stream.headers["Content-Type"] == ["text/event-stream"]
    assert (request.headers, request.metadata) == (HEADERS, METADATA)
    assert interceptor.seen_request[0] == HEADERS  # the header call saw the request as the client sent it
