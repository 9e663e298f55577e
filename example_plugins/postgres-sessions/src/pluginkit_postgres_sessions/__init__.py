"""A PostgreSQL session store for pluginkit, for hosts that run as several replicas.

Installed, it answers every ``session.*`` call of the host (plugin ID ``postgres-sessions``). Settings
(``[plugins.postgres-sessions]`` in ``pluginkit.toml``):

* ``dsn`` — a libpq connection string (empty: libpq's ``PG*`` environment variables);
* ``schema`` — the schema holding the tables, created on first use (default ``pluginkit_sessions``);
* ``pool_size`` — connections in the pool, and worker threads (default 4).

The plugin is the store plus :class:`pluginkit.sessions.SessionStorePlugin`, which serves any store through the
``session.*`` hooks: nothing of the contract's rules is written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pluginkit import ABI_VERSION
from pluginkit import types as t
from pluginkit.sessions import SessionStorePlugin

from ._store import PostgresSessionStore

__all__ = ["PLUGINKIT_ABI", "PostgresSessionStore", "plugin"]
__version__ = "1.0.0"

PLUGINKIT_ABI = ABI_VERSION


def _store(settings: Mapping[str, Any]) -> PostgresSessionStore:
    return PostgresSessionStore(
        str(settings.get("dsn", "")),
        schema=str(settings.get("schema", "pluginkit_sessions")),
        pool_size=int(settings.get("pool_size", 4)),
    )


#: The plugin object the ``pluginkit`` entry point names.
plugin = SessionStorePlugin(
    _store,
    abi_version=PLUGINKIT_ABI,
    config_fields=[
        t.ConfigField(name="dsn", type="string", description="libpq connection string"),
        t.ConfigField(name="schema", type="string", description="schema holding the tables"),
        t.ConfigField(name="pool_size", type="integer", description="connections in the pool"),
    ],
)
