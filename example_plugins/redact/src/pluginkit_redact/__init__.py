"""Mask API keys and e-mail addresses in what passes through the gateway (plugin ``redact``).

* ``request.intercept_before`` masks the client's request body before a credential is picked, so neither the
  upstream provider nor any later plugin sees the secrets a user pasted into a prompt;
* ``response.intercept_after`` masks a whole response, and ``response.intercept_stream_chunk`` each streamed
  chunk, so a model that repeats a secret does not hand it back.

Headers are left alone: the client's own ``Authorization`` header is how it authenticates to the gateway. A
secret split across two stream chunks is seen half in each and is not recognised — each chunk is masked alone.
The masking rules are in :mod:`pluginkit_redact.masking`.
"""

from __future__ import annotations

from pluginkit import ABI_VERSION, hookimpl
from pluginkit import types as t
from pluginkit_redact.masking import mask_bytes

__all__ = [
    "PLUGINKIT_ABI",
    "request_intercept_before",
    "response_intercept_after",
    "response_intercept_stream_chunk",
]

PLUGINKIT_ABI = ABI_VERSION
__version__ = "1.0.0"


@hookimpl
def request_intercept_before(params: t.RequestInterceptRequest) -> t.InterceptResult:
    # An empty body in the answer means "unchanged" to the header-chain rule.
    return t.InterceptResult(body=mask_bytes(params.body) or b"")


@hookimpl
def response_intercept_after(params: t.ResponseInterceptRequest) -> t.InterceptResult:
    return t.InterceptResult(body=mask_bytes(params.body) or b"")


@hookimpl
def response_intercept_stream_chunk(params: t.StreamChunkInterceptRequest) -> t.StreamChunkInterceptResult:
    # chunk_index -1 is the header call made before the first chunk: it has no body to mask.
    return t.StreamChunkInterceptResult(body=mask_bytes(params.body) or b"")
