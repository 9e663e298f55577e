"""``usage.handle`` payload."""

from __future__ import annotations

from datetime import datetime

from attrs import Factory

from pluginkit.types._common import Headers
from pluginkit.wire._payload import payload, wire_field

__all__ = ["UsageDetail", "UsageFailure", "UsageRecord"]


@payload
class UsageFailure:
    status_code: int = 0
    body: bytes = b""


@payload
class UsageDetail:
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    total_tokens: int = 0


@payload
class UsageRecord:
    """What one request cost. Durations are integer nanoseconds, as on the wire."""

    provider: str = ""
    executor_type: str = ""
    model: str = ""
    alias: str = ""
    api_key: str = ""
    auth_id: str = ""
    auth_index: str = ""
    auth_type: str = ""
    source: str = ""
    reasoning_effort: str = ""
    service_tier: str = ""
    requested_at: datetime | None = None
    #: Whole-request latency in nanoseconds (wire ``Latency``).
    latency_ns: int = wire_field(default=0, name="Latency")
    #: Time to first token in nanoseconds (wire ``TTFT``).
    ttft_ns: int = wire_field(default=0, name="TTFT")
    failed: bool = False
    failure: UsageFailure = Factory(UsageFailure)
    detail: UsageDetail = Factory(UsageDetail)
    response_headers: Headers = Factory(dict)
