"""The provider conformance kit (``pluginkit_provider``) passes a provider that keeps the seed host's contract and
fails each way of breaking it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from pluginkit import hookimpl
from pluginkit.providers import (
    ProviderError,
    ProviderManifest,
    ServiceCall,
    ServiceChunk,
    ServiceResponse,
    parse_manifest,
)
from pluginkit.testing import ProviderContract, ProviderSubject
from tests.providers.test_host import MANIFEST, FakeEngine


class KeepsTheContract(FakeEngine):
    @hookimpl
    async def provider_invoke_service(self, params: ServiceCall) -> ServiceResponse:
        if params.request not in (b"{}", b"hello there"):
            raise ProviderError(4003, "invalid request body")
        return ServiceResponse(response=b"{}")


@pytest.fixture
def pluginkit_provider() -> ProviderSubject:
    """The kit collected as a pytest user collects it (``TestProviderContract`` below)."""
    return ProviderSubject(KeepsTheContract(), MANIFEST, requests={"chat": b"hello there"})


class NoStreamHook(KeepsTheContract):
    provider_invoke_service_stream = None  # type: ignore[assignment]


class AnotherManifest(KeepsTheContract):
    @hookimpl
    def provider_get_manifest(self) -> ProviderManifest:
        return parse_manifest({"provider": {"name": "other", "type": "remote"}, "services": [{"service_name": "x"}]})


class HealthyWhenStopped(KeepsTheContract):
    @hookimpl
    def provider_stop_engine(self) -> None:
        self.calls.append("stop_engine")  # forgets to stop: its health checks still pass


class CrashesOnGarbage(KeepsTheContract):
    @hookimpl
    async def provider_invoke_service(self, params: ServiceCall) -> ServiceResponse:
        if params.request == b"not json":
            raise ValueError("cannot parse")
        return ServiceResponse(response=b"{}")


class ErrorChunk(KeepsTheContract):
    @hookimpl
    async def provider_invoke_service_stream(self, params: ServiceCall) -> AsyncIterator[ServiceChunk]:
        yield ServiceChunk(error="invalid request")


KIT = ProviderContract()
MANIFEST_TEST, MODES_TEST, LIFECYCLE_TEST, ERRORS_TEST = (
    "test_the_manifest_is_valid_and_matches_the_hooks",
    "test_each_mode_the_manifest_allows_works_and_the_others_are_refused",
    "test_the_lifecycle_runs_in_the_seed_hosts_order",
    "test_errors_are_answers_in_the_catalogue_never_crashes",
)


@pytest.mark.parametrize(
    ("plugin", "test", "why"),
    [
        (NoStreamHook(), MANIFEST_TEST, "no stream hook"),
        (AnotherManifest(), MANIFEST_TEST, "another manifest than the one shipped"),
        (HealthyWhenStopped(), LIFECYCLE_TEST, "stopped engine must fail its health check"),
        (CrashesOnGarbage(), ERRORS_TEST, "the plugin crashed"),
        (ErrorChunk(), MODES_TEST, "invalid request"),
    ],
)
def test_each_way_of_breaking_it_fails(plugin: Any, test: str, why: str) -> None:
    with pytest.raises(Exception) as caught:
        getattr(KIT, test)(ProviderSubject(plugin, MANIFEST, requests={"chat": b"hello there"}))
    assert why in str(caught.value)
