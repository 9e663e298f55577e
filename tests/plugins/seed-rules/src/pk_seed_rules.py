"""Registrations held to the seed host's rule (CLIProxyAPI internal/pluginhost/host.go, validPlugin).

The distribution declares no author and no repository URL, so only what each answer says counts.
"""

from __future__ import annotations

from pluginkit import hookimpl
from pluginkit import types as t

WHO = t.PluginMetadata(author="someone", github_repository="https://github.com/example/pk-seed-rules")
PICKS = t.Capabilities(scheduler=True)


class Scheduler:
    """Answers ``plugin.register`` with ``metadata`` and ``capabilities``; picks nothing itself."""

    PLUGINKIT_ABI = 1

    def __init__(self, metadata: t.PluginMetadata, capabilities: t.Capabilities) -> None:
        self.metadata, self.capabilities = metadata, capabilities

    @hookimpl
    def plugin_register(self) -> t.Registration:
        return t.Registration(metadata=self.metadata, capabilities=self.capabilities)

    @hookimpl
    def scheduler_pick(self) -> t.SchedulerPickResult:
        return t.SchedulerPickResult()


class Implied:
    """No ``plugin.register``: metadata from the distribution, capabilities from the hooks."""

    PLUGINKIT_ABI = 1

    @hookimpl
    def scheduler_pick(self) -> t.SchedulerPickResult:
        return t.SchedulerPickResult()


anonymous = Scheduler(t.PluginMetadata(), PICKS)
capless = Scheduler(WHO, t.Capabilities())
complete = Scheduler(WHO, PICKS)
implied = Implied()
