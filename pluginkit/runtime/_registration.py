"""``plugin.register`` / ``plugin.reconfigure``: asking a plugin who it is, and checking the answer.

A plugin need not implement ``plugin.register``: its metadata then comes from its distribution and its
capabilities from the hooks it implements. When it does, blanks in its answer are filled from the distribution's
metadata and the result is held to the seed host's rule (CLIProxyAPI ``internal/pluginhost/host.go``,
``validPlugin``): an installed plugin whose answer still lacks a name, version, author or GitHub repository, or
any plugin that declares no capability, is left out (``invalid_registration``,
the reason shown by ``pluginkit list`` and ``doctor``). Capability flags are checked against implemented hooks and
declared config fields against the settings given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import importlib_metadata

from pluginkit import abi
from pluginkit import types as t
from pluginkit.errors import PluginKitError
from pluginkit.runtime._logging import describe
from pluginkit.runtime._plugin import PluginRecord

if TYPE_CHECKING:
    from pluginkit.runtime._manager import PluginManager

__all__ = ["FIELD_TYPES", "check_fields", "check_settings", "reconfigure_plugin", "register_plugin", "route_key"]

_MANAGEMENT_BASE = "/v0/management"


def register_plugin(manager: PluginManager, record: PluginRecord) -> None:
    """Register ``record`` (already in pluggy): sets ``record.registration`` and its registries, or raises."""
    _apply(manager, record, "plugin_register")


def reconfigure_plugin(manager: PluginManager, record: PluginRecord) -> None:
    """Send new settings; a plugin without ``plugin.reconfigure`` keeps its registration."""
    if "plugin_reconfigure" in record.hooks:
        _apply(manager, record, "plugin_reconfigure")
    elif record.registration is not None:
        check_settings(record.registration.metadata.config_fields, record.settings)


def _apply(manager: PluginManager, record: PluginRecord, hook: str) -> None:
    if hook in record.hooks:
        request = t.LifecycleRequest.from_config(dict(record.settings), enabled=True, priority=record.priority)
        answer = manager.call_hook(record, hook, request)
        if isinstance(answer, dict):
            answer = abi.get("plugin.register").parse_result(answer)
        if not isinstance(answer, t.Registration):
            raise PluginKitError("plugin_error", f"{hook} answered {type(answer).__name__}, expected Registration")
        registration = answer
    else:
        registration = t.Registration(schema_version=abi.SCHEMA_VERSION, capabilities=_implied_capabilities(record))
    problems: list[str] = []
    metadata = _with_distribution_defaults(record, registration.metadata)
    registration = attrs.evolve(registration, metadata=metadata)  # type: ignore[misc]
    metadata = registration.metadata
    missing = [name for name in ("name", "version") if not getattr(metadata, name).strip()]
    if missing:
        raise PluginKitError("plugin_error", f"registration lacks {' and '.join(missing)}")
    if hook in record.hooks:
        _seed_rule(record, hook, registration)
    elif record.source == "entry-point":  # nothing answered: the seed rule has nothing to judge, but say so
        problems += [f"metadata has no {name}" for name, _ in _REQUIRED_METADATA if not getattr(metadata, name).strip()]
    if registration.schema_version > abi.SCHEMA_VERSION:
        raise PluginKitError(
            "abi_mismatch",
            f"plugin {record.id!r} uses payload schema {registration.schema_version}; "
            f"this host reads schema {abi.SCHEMA_VERSION}",
        )
    problems += _capability_problems(record, registration.capabilities)
    check_fields(metadata.config_fields)
    problems += check_settings(metadata.config_fields, record.settings)
    record.set_registration(registration)
    record.problems = [p for p in record.problems if p.startswith("implements hooks the ABI")] + problems
    _collect_registries(manager, record)


#: The metadata the seed host requires, with the seed's field names (for the reason shown to operators).
_REQUIRED_METADATA = (
    ("name", "Name"), ("version", "Version"), ("author", "Author"), ("github_repository", "GitHubRepository"),
)


def _seed_rule(record: PluginRecord, hook: str, registration: t.Registration) -> None:
    """Raise ``invalid_registration`` when the seed host would leave this answer out.

    Metadata counts after the distribution's defaults (so an installed plugin may leave it to its package); a
    plugin registered from code has no distribution and is held to name and version only. Every hook is
    declared by a capability, so an answer declaring none would leave the plugin uncalled.
    """
    method = hook.replace("_", ".", 1)
    if record.source == "entry-point":
        metadata = registration.metadata
        lacking = [label for name, label in _REQUIRED_METADATA if not getattr(metadata, name).strip()]
        if lacking:
            raise PluginKitError(
                "invalid_registration",
                f"{method} answered no {', '.join(lacking)}, here or in the distribution's metadata; "
                "the seed host leaves such a plugin out",
            )
    if not registration.capabilities.declared():
        raise PluginKitError(
            "invalid_registration",
            f"{method} declared no capability, so none of its hooks would be called; the seed host leaves such a "
            "plugin out",
        )


def _implied_capabilities(record: PluginRecord) -> t.Capabilities:
    flags: dict[str, Any] = {}
    for hook in record.hooks:
        method = abi.METHODS.by_hook(hook)
        if method is not None and method.capability:
            flags[method.capability] = True
    return t.Capabilities(**flags)


def _with_distribution_defaults(record: PluginRecord, metadata: t.PluginMetadata) -> t.PluginMetadata:
    # Plugins registered in code have no distribution: their name is their ID, their version their
    # ``__version__`` or 0.0.0.
    version = record.version or str(getattr(record.obj, "__version__", "") or "0.0.0")
    defaults: dict[str, str] = {"name": record.distribution or record.id, "version": version}
    if record.distribution:
        try:
            dist_meta = importlib_metadata.metadata(record.distribution)
        except importlib_metadata.PackageNotFoundError:
            dist_meta = None
        if dist_meta is not None:
            defaults["author"] = dist_meta.get("Author") or dist_meta.get("Author-email") or ""
            urls = [*(dist_meta.get_all("Project-URL") or []), dist_meta.get("Home-page") or ""]
            repo = next((u.split(",", 1)[-1].strip() for u in urls if "github.com" in u), "")
            defaults["github_repository"] = repo
    changes = {k: v for k, v in defaults.items() if v and not getattr(metadata, k).strip()}
    return attrs.evolve(metadata, **changes) if changes else metadata  # type: ignore[misc]


def _capability_problems(record: PluginRecord, capabilities: t.Capabilities) -> list[str]:
    problems = []
    declared = capabilities.declared()
    for capability in sorted(declared - {"frontend_auth_provider_exclusive"}):
        hooks = {m.hook_name for m in abi.METHODS.capability_methods(capability)}
        if not hooks & record.hooks:
            problems.append(f"declares {capability} but implements none of {', '.join(sorted(hooks))}")
    for hook in sorted(record.hooks):
        method = abi.METHODS.by_hook(hook)
        if method is not None and method.capability and method.capability not in declared:
            problems.append(
                f"implements {hook} without declaring {method.capability}; it is not called (declare "
                f"Capabilities({method.capability}=True) in plugin_register, or drop plugin_register)"
            )
    if "executor" in declared and not (capabilities.executor_input_formats and capabilities.executor_output_formats):
        problems.append("declares executor without executor_input_formats and executor_output_formats")
    return problems


_TYPE_CHECKS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "string": (str, "a string"),
    "number": ((int, float), "a number"),
    "integer": (int, "an integer"),
    "boolean": (bool, "true or false"),
    "array": (list, "an array"),
    "object": (dict, "a table"),
}


#: The seed's ``ConfigFieldType`` values (CLIProxyAPI ``sdk/pluginapi/types.go``).
FIELD_TYPES = ("string", "number", "integer", "boolean", "enum", "array", "object")


def check_fields(fields: list[t.ConfigField]) -> None:
    """Refuse declared config fields a host could not check: a blank or repeated name, a type outside the seed's
    set (``"float"``, ``"int"``, ``"bool"`` or none at all would accept anything), an enum without values."""
    seen: set[str] = set()
    for field in fields:
        name = field.name.strip()
        if not name or name in seen:
            raise PluginKitError("invalid_registration", f"config field {field.name!r}: a blank or repeated name")
        seen.add(name)
        kind = field.type.strip().lower()
        if kind not in FIELD_TYPES:
            raise PluginKitError(
                "invalid_registration",
                f"config field {name!r} has type {field.type!r}; the types are {', '.join(FIELD_TYPES)}",
            )
        if kind == "enum" and not field.enum_values:
            raise PluginKitError("invalid_registration", f"config field {name!r} is an enum without enum_values")


def check_settings(fields: list[t.ConfigField], settings: Any) -> list[str]:
    """Check settings against declared config fields: a wrong type or enum value raises ``invalid_config``;
    settings nobody declared are returned as problems (when the plugin declared any fields at all)."""
    declared = {f.name: f for f in fields}
    for name, value in settings.items():
        field = declared.get(name)
        if field is None:
            continue
        kind = field.type.lower()
        if kind == "enum":
            if value not in field.enum_values:
                choices = ", ".join(repr(v) for v in field.enum_values)
                raise PluginKitError("invalid_config", f"setting {name!r} is {value!r}; expected one of {choices}")
            continue
        expected = _TYPE_CHECKS.get(kind)
        if expected is None:
            continue
        types_, words = expected
        if not isinstance(value, types_) or (isinstance(value, bool) and kind in ("number", "integer")):
            raise PluginKitError("invalid_config", f"setting {name!r} must be {words}, not {type(value).__name__}")
    unknown = sorted(set(settings) - set(declared)) if declared else []
    return [f"settings nobody declared: {', '.join(unknown)}"] if unknown else []


def route_key(method: str, path: str) -> str:
    """``"GET /v0/management/x"`` — how management routes are matched (method default GET, no trailing /)."""
    path = path.strip().rstrip("/")
    if not path.startswith(_MANAGEMENT_BASE):
        path = f"{_MANAGEMENT_BASE}/{path.lstrip('/')}"
    return f"{(method or 'GET').strip().upper()} {path}"


def _collect_registries(manager: PluginManager, record: PluginRecord) -> None:
    """Ask for identifiers, flags and routes once, so calls can find their single owner without asking."""
    declared = record.capabilities
    identifiers: dict[str, str] = {}
    for method in abi.METHODS.values():
        if not method.name.endswith(".identifier") or method.capability not in declared:
            continue
        if method.hook_name not in record.hooks:
            continue
        try:
            answer = manager.call_hook(record, method.hook_name, t.Empty())
        except Exception as exc:
            record.problems.append(f"{method.name} failed: {describe(exc)}")
            continue
        value = answer.identifier if isinstance(answer, t.Identifier) else ""
        if value.strip():
            identifiers[method.family] = value.strip().lower()
    record.identifiers = identifiers
    if "command_line_plugin" in declared and "command_line_register" in record.hooks:
        try:
            flags = manager.call_hook(record, "command_line_register", t.CommandLineRegisterRequest(
                plugin=record.registration.metadata if record.registration else t.PluginMetadata()))
            record.flags = frozenset(f.name.lstrip("-") for f in flags.flags if f.name.strip())
        except Exception as exc:
            record.problems.append(f"command_line.register failed: {describe(exc)}")
    if "management_api" in declared and "management_register" in record.hooks:
        try:
            routes = manager.call_hook(record, "management_register", t.ManagementRegisterRequest(
                plugin=record.registration.metadata if record.registration else t.PluginMetadata(),
                base_path=_MANAGEMENT_BASE))
            keys = set()
            for route in routes.routes:
                if not route.path.strip() or any(c in route.path for c in " \t:*"):
                    record.problems.append(f"management route {route.path!r} rejected")
                    continue
                keys.add(route_key(route.method, route.path))
            record.routes = frozenset(keys)
        except Exception as exc:
            record.problems.append(f"management.register failed: {describe(exc)}")
