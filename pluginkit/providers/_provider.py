"""What the host knows of one provider: its manifest, the plugin serving it, its status."""

from __future__ import annotations

import asyncio
import enum

import attrs

from pluginkit.providers._manifest import ProviderManifest

__all__ = ["Conflict", "Health", "Provider", "ProviderStatus"]


class ProviderStatus(enum.IntEnum):
    """A provider as the host sees it, with the seed host's numbers (``constants.PluginStatus*``)."""

    RUNNING = 1
    STOPPED = 2
    UNLOADED = 3

    def __str__(self) -> str:
        return self.name.lower()


@attrs.define(eq=False)
class Provider:
    """One provider: its manifest, the plugin serving it, and where the host is with it."""

    manifest: ProviderManifest
    plugin_id: str
    #: The manifest's file (empty for a manifest given in code).
    source: str = ""
    status: ProviderStatus = ProviderStatus.STOPPED
    #: Why the last start or health check failed (empty when none did).
    reason: str = ""
    _starting: asyncio.Future[None] | None = attrs.field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.manifest.provider.name

    @property
    def type(self) -> str:
        return self.manifest.provider.type


@attrs.frozen
class Health:
    """A health check's outcome."""

    provider: str
    healthy: bool
    status: ProviderStatus
    error: str = ""


@attrs.frozen
class Conflict:
    """A provider name offered twice: ``kept`` serves it, ``rejected`` (a plugin ID) is left out."""

    name: str
    kept: str
    rejected: str
    source: str
