"""Which registrations the manager admits: the seed host's rule applied to what a plugin answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from pluginkit import PluginManager, PluginState, hookimpl
from pluginkit import types as t


def load(site: Path, *ids: str) -> PluginManager:
    return PluginManager(search_path=[str(site)], cache=False, environ={"PLUGINKIT_LOAD_PLUGINS": ",".join(ids)}).load()


@pytest.mark.parametrize(
    ("plugin_id", "reason"),
    [
        ("seed-anonymous", "answered no Author, GitHubRepository"),
        ("seed-capless", "declared no capability"),
    ],
)
def test_an_answer_the_seed_host_would_refuse_leaves_the_plugin_out(
    on_path: Path, plugin_id: str, reason: str
) -> None:
    """Seed behaviour (CLIProxyAPI internal/pluginhost/host.go, validPlugin at 693ce1c55): a registration that lacks
    Name, Version, Author or GitHubRepository, or declares no capability, is left out. pluginkit fills blanks from
    the distribution first (this one declares no author or URL), and reports why in the plugin's state."""
    manager = load(on_path, plugin_id)
    try:
        info = manager.plugin(plugin_id)
        assert info.state is PluginState.FAILED
        assert info.reason.startswith("invalid_registration: plugin.register") and reason in info.reason
        assert "seed host leaves such a plugin out" in info.reason
        assert plugin_id not in [p.id for p in manager.plugins() if p.state is PluginState.ACTIVE]
    finally:
        manager.shutdown()


def test_complete_and_implied_registrations_are_admitted(on_path: Path) -> None:
    """An answer with every field is admitted; a plugin that does not answer keeps pluginkit's convenience
    (capabilities implied by its hooks), with the missing metadata reported as a problem."""
    manager = load(on_path, "seed-complete", "seed-implied")
    try:
        assert manager.plugin("seed-complete").state is PluginState.ACTIVE
        assert not manager.plugin("seed-complete").problems
        implied = manager.plugin("seed-implied")
        assert implied.state is PluginState.ACTIVE and implied.capabilities == ("scheduler",)
        assert implied.problems == ("metadata has no author", "metadata has no github_repository")
    finally:
        manager.shutdown()


def test_a_reconfigure_answer_is_held_to_the_same_rule() -> None:
    """Seed behaviour (host.go, callRegisterLocked): plugin.reconfigure answers go through validPlugin too."""

    class Shrinks:
        declares = True

        @hookimpl
        def plugin_register(self) -> t.Registration:
            return self.registration()

        @hookimpl
        def plugin_reconfigure(self) -> t.Registration:
            return self.registration()

        def registration(self) -> t.Registration:
            return t.Registration(
                metadata=t.PluginMetadata(name="shrinks", version="1"),
                capabilities=t.Capabilities(scheduler=self.declares),
            )

        @hookimpl
        def scheduler_pick(self) -> t.SchedulerPickResult:
            return t.SchedulerPickResult()

    plugin = Shrinks()
    with PluginManager(entry_points=False, environ={}) as manager:
        assert manager.register(plugin, "shrinks").state is PluginState.ACTIVE
        plugin.declares = False
        manager.reconfigure({"plugins": {"shrinks": {"x": 1}}})
        info = manager.plugin("shrinks")
        assert info.state is PluginState.FAILED and "declared no capability" in info.reason
