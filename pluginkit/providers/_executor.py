"""A provider's service as the request pipeline's executor for a provider key.

``ProviderHost.serve(pipeline, "ollama")`` makes the provider's ``chat`` service answer every request the
pipeline routes to provider key ``ollama``: the request goes through the schedulers, translators and interceptors
as any other, the executor stage invokes the service (streamed when the client streams), and the answer comes back
through the response stages. The body the service gets is the request translated to the executor's input format,
and what it answers must be in its output format (OpenAI's chat completions by default, as AOG's services are).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from pluginkit import types as t

if TYPE_CHECKING:
    from pluginkit.providers._services import ServiceCalls

__all__ = ["ProviderExecutor"]

_JSON = {"Content-Type": ["application/json"]}
_EVENTS = {"Content-Type": ["text/event-stream"]}


class ProviderExecutor:
    """The executor that serves a pipeline provider key with ``service`` of provider ``name``.

    The credential the scheduler picked reaches the service as its ``auth_info``: the credential's ``api_key``
    attribute (as the seed host passes a service provider's key).
    """

    def __init__(self, host: ServiceCalls, name: str, service: str = "chat") -> None:
        self.host, self.name, self.service = host, name, service

    async def execute(self, request: t.ExecutorRequest) -> t.ExecutorResponse:
        body = await self.host.invoke(self.name, self.service, request.payload, auth_info=_auth_info(request))
        return t.ExecutorResponse(payload=body, headers=dict(_JSON))

    def execute_stream(self, request: t.ExecutorRequest) -> AsyncIterator[bytes]:
        return self._stream(request)

    async def _stream(self, request: t.ExecutorRequest) -> AsyncIterator[bytes]:
        stream = await self.host.invoke_stream(
            self.name, self.service, request.payload, auth_info=_auth_info(request)
        )
        async with stream:
            async for chunk in stream:
                if chunk.data:
                    yield chunk.data


def _auth_info(request: t.ExecutorRequest) -> str:
    return request.auth_attributes.get("api_key", "") or request.auth_metadata.get("api_key", "")
