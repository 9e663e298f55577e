"""Provider manifests (seed 003's ``PluginManifest``): parsed, validated with the field named, found in an
installed distribution without importing it, and a provider name offered twice left out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pluginkit import PluginManager, PluginState
from pluginkit.providers import (
    ManifestError,
    ProviderHost,
    ProviderStatus,
    find_manifest,
    load_manifest,
    parse_manifest,
    platform_key,
    support_model_list,
)
from pluginkit.runtime import InstalledPlugin

MANIFEST = """
version: "1"
provider:
  name: ollama
  display_name: Ollama
  version: "0.5.0"
  type: local
  description: Local models
  homepage: https://ollama.com
  engine_host: http://127.0.0.1:16677
services:
  - service_name: chat
    task_type: text-generation
    protocol: HTTP
    expose_protocol: HTTP
    endpoint: /api/chat
    auth_type: none
    default_model: qwen3:0.6b
    support_models: [qwen3:0.6b, llama3:8b]
    config_ref: ollama:chat
    timeout: 0
    capabilities: {support_streaming: true}
  - service_name: speech-to-text-ws
    protocol: WEBSOCKET
    expose_protocol: WSS
    timeout: -1
  - service_name: embed
    support_models: [bge-m3]
    timeout: 20
platforms:
  linux_amd64: {executable: bin/ollama-plugin, dependencies: [libfoo]}
resources:
  data_dir: ${HOME}/.aog
  ollama: {models_dir: models}
"""


def test_every_field_of_the_seed_manifest_is_read() -> None:
    manifest = parse_manifest(MANIFEST)
    assert manifest.provider.name == "ollama" and manifest.provider.engine_host == "http://127.0.0.1:16677"
    chat = manifest.service("chat")
    assert chat is not None and chat.support_models == ["qwen3:0.6b", "llama3:8b"] and chat.config_ref == "ollama:chat"
    assert manifest.platforms["linux_amd64"].dependencies == ["libfoo"]
    assert manifest.resources is not None and manifest.resources.ollama is not None
    assert manifest.resources.ollama.models_dir == "models"
    assert manifest.service_names() == ["chat", "speech-to-text-ws", "embed"]


def test_modes_follow_the_seeds_rules() -> None:
    manifest = parse_manifest(MANIFEST)
    chat, ws, embed = (manifest.service(n) for n in ("chat", "speech-to-text-ws", "embed"))
    assert chat and ws and embed
    # ServiceDef.SupportsStreaming / SupportsBidirectional / GetInvokeMode (plugin-sdk/types/metadata.go)
    assert chat.supports_streaming() and not chat.supports_bidirectional() and chat.invoke_mode() == "streaming"
    assert ws.supports_streaming() and ws.supports_bidirectional() and ws.invoke_mode() == "bidirectional"
    assert not embed.supports_streaming() and embed.invoke_mode() == "unary"


def test_time_limits_follow_the_seed_hosts_rule() -> None:
    # PluginInvoker.getTimeout: 0 → 60 s unary / 300 s streaming, > 0 → seconds, < 0 → none
    manifest = parse_manifest(MANIFEST)
    chat, ws, embed = (manifest.service(n) for n in ("chat", "speech-to-text-ws", "embed"))
    assert chat and ws and embed
    assert chat.time_limit(streaming=False) == 60 and chat.time_limit(streaming=True) == 300
    assert ws.time_limit(streaming=True) is None
    assert embed.time_limit(streaming=False) == 20


def test_the_supported_model_list_is_derived_as_the_seeds_client_does() -> None:
    models = support_model_list(parse_manifest(MANIFEST))
    assert [m.id for m in models] == ["ollama:chat:qwen3:0.6b", "ollama:chat:llama3:8b", "ollama:embed:bge-m3"]
    first = models[0]
    assert first.is_recommended and first.is_default == "true" and first.can_select and first.method == "POST"
    assert first.url == "/api/chat" and first.auth_apply_url == "https://ollama.com" and first.source == "local"
    assert first.service_provider_name == "ollama" and first.desc == "Local models"
    assert not models[1].is_recommended and models[1].is_default == "false"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"provider": {"name": "x", "type": "cloud"}, "services": [{"service_name": "chat"}]}, "provider.type"),
        ({"provider": {"name": "x", "type": "local"}, "services": [{"service_name": "chat"}]}, "engine_host"),
        ({"provider": {"type": "remote"}, "services": [{"service_name": "chat"}]}, "provider.name is required"),
        ({"provider": {"name": "x", "type": "remote"}, "services": []}, "at least one service"),
        ({"provider": {"name": "x", "type": "remote"}, "services": [{"service_name": "a"}, {"service_name": "a"}]},
         "offered twice"),
        ({"provider": {"name": "x", "type": "remote"}, "services": [{"service_name": "a", "auth_type": "magic"}]},
         "services[0].auth_type"),
        ({"provider": {"name": "x", "type": "remote"}, "services": [{"service_name": "a", "timeout": "soon"}]},
         "timeout"),
        ({"provider": {"name": "x", "type": "remote"}, "services": [{"service_name": "a"}],
          "platforms": {"linux_amd64": {"executable": "../../bin/sh"}}}, "inside the plugin's directory"),
        ("provider: [unclosed", "not valid YAML"),
        ("- a list", "expected a mapping"),
    ],
)
def test_invalid_manifests_name_the_field(data: object, message: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(data, source="plugin.yaml")  # type: ignore[arg-type]
    assert caught.value.code == "provider_invalid_config"
    assert message in caught.value.message and caught.value.message.startswith("plugin.yaml")


def test_yaml_is_preferred_over_json_as_in_the_seed(tmp_path: Path) -> None:
    (tmp_path / "plugin.json").write_text(json.dumps({
        "provider": {"name": "from-json", "type": "remote"}, "services": [{"service_name": "chat"}],
    }))
    assert load_manifest(tmp_path).name == "from-json"
    yaml_text = "provider: {name: from-yaml, type: remote}\nservices: [{service_name: chat}]\n"
    (tmp_path / "plugin.yaml").write_text(yaml_text)
    assert load_manifest(tmp_path).name == "from-yaml"
    with pytest.raises(ManifestError, match=r"no plugin\.yaml or plugin\.json"):
        load_manifest(tmp_path / "missing")


def test_platform_key_uses_gos_names() -> None:
    assert platform_key().split("_")[0] in {"linux", "darwin", "win"} and "x86_64" not in platform_key()


def test_manifests_are_found_in_installed_distributions_without_importing_them(on_path: Path) -> None:
    manager = PluginManager(search_path=[str(on_path)], cache=False)
    found = {p.id: find_manifest(p) for p in manager.installed().plugins}
    twin = found["twin-a"]
    assert twin is not None and twin.name == "plugin.yaml" and twin.parent.name == "pk_twin_a"
    assert found["good"] is None  # no manifest: not a provider


def test_a_provider_name_offered_twice_is_reported_and_the_later_one_never_imported(on_path: Path) -> None:
    manager = PluginManager(
        search_path=[str(on_path)], cache=False,
        environ={"PLUGINKIT_LOAD_PLUGINS": "twin-a,twin-b,bad-manifest"},
    )
    host = ProviderHost(manager)
    manager.load()
    assert [(c.name, c.kept, c.rejected) for c in host.conflicts] == [("twin", "twin-a", "twin-b")]
    rejected = manager.plugin("twin-b")
    assert rejected.state is PluginState.FAILED and "provider name conflict" in rejected.reason  # not imported
    assert manager.plugin("twin-a").state is PluginState.ACTIVE
    assert "services[0].timeout: expected int" in host.invalid["bad-manifest"]
    bad = manager.plugin("bad-manifest")
    assert bad.state is PluginState.FAILED and "invalid provider manifest" in bad.reason
    assert [p.name for p in host.providers()] == ["twin"]
    assert host.status("twin") is ProviderStatus.STOPPED
    manager.shutdown()


def test_a_conflict_found_after_loading_takes_the_later_plugin_out(on_path: Path) -> None:
    manager = PluginManager(
        search_path=[str(on_path)], cache=False, environ={"PLUGINKIT_LOAD_PLUGINS": "twin-a"},
    ).load()
    manager.exclude("twin-a", "provider name conflict: test")
    assert manager.plugin("twin-a").state is PluginState.FAILED
    with pytest.raises(Exception, match="not active"):
        manager.call_plugin("twin-a", "provider.invoke_service")
    manager.shutdown()


def test_a_manifest_is_looked_for_in_the_entry_points_package_never_above_it(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "acme" / "engine").mkdir(parents=True)
    (site / "acme" / "plugin.yaml").write_text("provider: {name: acme, type: remote}\nservices: [{service_name: chat}]")
    (site / "acme" / "engine" / "plugin.yaml").write_text(MANIFEST)
    (site / "acme" / "tools.py").write_text("")
    (site / "loose.py").write_text("")
    (site / "plugin.yaml").write_text("not looked at")
    dist = str(site / "acme-1.0.dist-info")

    def found(value: str) -> Path | None:
        return find_manifest(InstalledPlugin(id="x", value=value, distribution="acme", version="1", location=dist))

    assert found("acme.engine:PLUGIN") == site / "acme" / "engine" / "plugin.yaml"  # a package: its own
    assert found("acme.tools:PLUGIN") == site / "acme" / "plugin.yaml"  # a module: its package's
    assert found("acme") == site / "acme" / "plugin.yaml"
    assert found("loose:PLUGIN") is None  # a top-level module: the site itself is no plugin's directory


def test_plugins_of_one_package_share_its_manifest_without_a_conflict() -> None:
    manager = PluginManager(entry_points=False, environ={})
    host = ProviderHost(manager)
    manifest = parse_manifest(MANIFEST)
    assert host._admit(manifest, "acme-provider", "/site/acme/plugin.yaml") is not None
    assert host._admit(manifest, "acme-tools", "/site/acme/plugin.yaml") is None
    assert host.conflicts == [] and host.provider("ollama").plugin_id == "acme-provider"
