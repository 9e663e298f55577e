"""The seed's example scheduler, as a pluginkit plugin.

Settings (``[plugins.scheduler]`` in ``pluginkit.toml``):

* ``auth_id`` — pick this credential when it is a candidate;
* ``delegate`` — otherwise let a built-in selector choose (``fill-first`` or ``round-robin``);
* ``deny`` — refuse every pick with a ``scheduler_denied`` error.

With none of them set the plugin answers ``handled=False`` and the host's default selector decides.
"""

from __future__ import annotations

from pluginkit import ABI_VERSION, PluginContext, PluginError, hookimpl
from pluginkit import types as t

PLUGINKIT_ABI = ABI_VERSION
__version__ = "1.0.0"


@hookimpl
def plugin_register() -> t.Registration:
    # Declaring the settings makes the host check them before the plugin runs (a wrong type or enum value refuses
    # it with invalid_config). Name, version, author and repository come from pyproject.toml.
    return t.Registration(
        metadata=t.PluginMetadata(
            config_fields=[
                t.ConfigField(name="auth_id", type="string", description="Credential to pick when available"),
                t.ConfigField(
                    name="delegate",
                    type="enum",
                    enum_values=list(t.BUILTIN_SCHEDULERS),
                    description="Built-in selector to delegate to",
                ),
                t.ConfigField(name="deny", type="boolean", description="Refuse every pick"),
            ],
        ),
        capabilities=t.Capabilities(scheduler=True),
    )


@hookimpl
def scheduler_pick(params: t.SchedulerPickRequest, ctx: PluginContext) -> t.SchedulerPickResult:
    if ctx.config.get("deny"):
        raise PluginError("scheduler_denied", "denied by scheduler config")
    auth_id = str(ctx.config.get("auth_id", "")).strip()
    if auth_id and any(candidate.id == auth_id for candidate in params.candidates):
        ctx.log.debug("picked %s", auth_id)
        return t.SchedulerPickResult(auth_id=auth_id, handled=True)
    delegate = str(ctx.config.get("delegate", "")).strip()
    if delegate:
        return t.SchedulerPickResult(delegate_builtin=delegate, handled=True)
    return t.SchedulerPickResult(handled=False)
