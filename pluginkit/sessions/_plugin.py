"""Stores across the ABI: a plugin that serves a store, a host-side store that calls it, and choosing one.

* :class:`SessionStorePlugin` turns any :class:`SessionStore` into the 18 ``session_*`` hookimpls, so a store
  plugin is a few lines (the PostgreSQL example plugin is one);
* :class:`PluginSessionStore` presents whichever plugin answers ``session.*`` as the same async contract,
  calling it through ``PluginManager.acall``;
* :func:`open_session_store` picks the store: the one the host gives, else a plugin's, else SQLite.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pluginkit import abi
from pluginkit import types as t
from pluginkit.abi._hookspecs import hookimpl
from pluginkit.errors import PluginKitError
from pluginkit.sessions._contract import SearchMode, SessionStore
from pluginkit.sessions._errors import BY_CODE, InvalidSessionData, SessionStoreError
from pluginkit.sessions._operations import BY_NAME, OPERATIONS, Operation
from pluginkit.sessions._types import (
    UNSET,
    ChatHistoryMatch,
    Message,
    ModelConfig,
    Recipe,
    Session,
    SessionInsights,
    SessionType,
    TokenStatsUpdate,
    Unset,
)

if TYPE_CHECKING:
    from pluginkit.runtime import PluginManager

__all__ = ["PluginSessionStore", "SessionStorePlugin", "open_session_store"]

CAPABILITY = "session_store"

StoreFactory = Callable[[Mapping[str, Any]], SessionStore]


class SessionStorePlugin:
    """A plugin object serving a session store through the ``session.*`` hooks.

    ``store`` is a :class:`SessionStore`, or a factory called with the plugin's settings (``ctx.config``) the
    first time a session method is called — not at load, so a plugin whose database is down still loads and
    reports errors per call. ``config_fields`` declares the settings it accepts. The store is closed by
    ``plugin.shutdown`` and rebuilt after ``plugin.reconfigure``.
    """

    def __init__(
        self,
        store: SessionStore | StoreFactory,
        *,
        abi_version: int | str = abi.ABI_VERSION,
        config_fields: Sequence[t.ConfigField] = (),
    ) -> None:
        self.PLUGINKIT_ABI = abi_version
        self._factory: StoreFactory | None = None if isinstance(store, SessionStore) else store
        self._store: SessionStore | None = store if isinstance(store, SessionStore) else None
        self._config: dict[str, Any] = {}
        self._config_fields = list(config_fields)
        self._lock = threading.Lock()

    @property
    def store(self) -> SessionStore:
        """The store, built on first use from the settings."""
        store = self._store
        if store is None:
            with self._lock:
                if self._store is None:
                    assert self._factory is not None
                    self._store = self._factory(dict(self._config))
                store = self._store
        return store

    def _registration(self, params: t.LifecycleRequest) -> t.Registration:
        # the plugin's settings, without the host keys the seed adds to config_yaml (enabled, priority)
        self._config = {k: v for k, v in params.config.items() if k not in ("enabled", "priority")}
        return t.Registration(
            schema_version=abi.SCHEMA_VERSION,
            metadata=t.PluginMetadata(config_fields=list(self._config_fields)),
            capabilities=t.Capabilities(session_store=True),
        )

    @hookimpl
    def plugin_register(self, params: t.LifecycleRequest) -> t.Registration:
        return self._registration(params)

    @hookimpl
    async def plugin_reconfigure(self, params: t.LifecycleRequest) -> t.Registration:
        old, previous = self._store, self._config
        registration = self._registration(params)
        if self._config != previous and self._factory is not None and old is not None:
            self._store = None
            await old.aclose()
        return registration

    @hookimpl
    async def plugin_shutdown(self) -> t.Empty:
        store, self._store = self._store, None
        if store is not None:
            await store.aclose()
        return t.Empty()

    async def serve(self, op: Operation, params: Any) -> Any:
        """Run one contract method on the store with the hook's params; answer the result object."""
        value = await getattr(self.store, op.name)(**op.unpack(params))
        return op.wrap(value)


def _hook(op: Operation) -> Callable[..., Any]:
    async def hook(self: SessionStorePlugin, params: Any) -> Any:
        return await self.serve(op, params)

    hook.__name__ = hook.__qualname__ = op.abi_name.replace(".", "_")
    hook.__doc__ = f"``{op.abi_name}``: {op.summary}"
    return hookimpl(hook)


for _op in OPERATIONS:
    setattr(SessionStorePlugin, _op.abi_name.replace(".", "_"), _hook(_op))


class PluginSessionStore(SessionStore):
    """The store a plugin provides, as a :class:`SessionStore`: each method is one ``session.*`` ABI call.

    With ``plugin_id`` the calls go to that plugin; without, to the highest-priority plugin declaring
    ``session_store``. Errors come back as the same classes (``SessionNotFound`` …).
    """

    def __init__(self, manager: PluginManager, plugin_id: str | None = None) -> None:
        self.manager = manager
        self.plugin_id = plugin_id

    async def _call(self, method: str, /, **args: Any) -> Any:
        op = BY_NAME[method]
        try:
            params = op.pack(args)
        except TypeError as exc:
            raise InvalidSessionData(message=f"{method}: {exc}") from None
        try:
            if self.plugin_id is None:
                result = await self.manager.acall(op.abi_name, params)
            else:
                result = await self.manager.acall_plugin(self.plugin_id, op.abi_name, params)
        except SessionStoreError:
            raise
        except PluginKitError as exc:
            cls = BY_CODE.get(exc.code)
            if cls is None:
                raise
            raise cls(exc.code, exc.message, exc.retryable) from None
        return op.unwrap(result)

    async def create_session(
        self, working_dir: str | os.PathLike[str], name: str = "", session_type: SessionType | str = SessionType.USER
    ) -> Session:
        result: Session = await self._call(
            "create_session", working_dir=working_dir, name=name, session_type=session_type
        )
        return result

    async def get_session(self, id: str, include_messages: bool = False) -> Session:
        result: Session = await self._call("get_session", id=id, include_messages=include_messages)
        return result

    async def add_message(self, session_id: str, message: Message) -> None:
        await self._call("add_message", session_id=session_id, message=message)

    async def replace_conversation(self, session_id: str, conversation: Sequence[Message]) -> None:
        await self._call("replace_conversation", session_id=session_id, conversation=conversation)

    async def list_sessions(self) -> list[Session]:
        result: list[Session] = await self._call("list_sessions")
        return result

    async def list_sessions_by_types(self, types: Sequence[SessionType | str]) -> list[Session]:
        result: list[Session] = await self._call("list_sessions_by_types", types=types)
        return result

    async def delete_session(self, id: str) -> None:
        await self._call("delete_session", id=id)

    async def get_insights(self) -> SessionInsights:
        result: SessionInsights = await self._call("get_insights")
        return result

    async def export_session(self, id: str) -> str:
        result: str = await self._call("export_session", id=id)
        return result

    async def import_session(self, json: str) -> Session:
        result: Session = await self._call("import_session", json=json)
        return result

    async def copy_session(self, session_id: str, new_name: str) -> Session:
        result: Session = await self._call("copy_session", session_id=session_id, new_name=new_name)
        return result

    async def truncate_conversation(self, session_id: str, timestamp: int) -> None:
        await self._call("truncate_conversation", session_id=session_id, timestamp=timestamp)

    async def update_session_name(self, session_id: str, name: str, user_set: bool = True) -> None:
        await self._call("update_session_name", session_id=session_id, name=name, user_set=user_set)

    async def update_extension_data(self, session_id: str, extension_data: Mapping[str, Any]) -> None:
        await self._call("update_extension_data", session_id=session_id, extension_data=extension_data)

    async def update_token_stats(self, session_id: str, stats: TokenStatsUpdate) -> None:
        await self._call("update_token_stats", session_id=session_id, stats=stats)

    async def update_provider_config(
        self,
        session_id: str,
        provider_name: str | Unset | None = UNSET,
        model_config: ModelConfig | Unset | None = UNSET,
    ) -> None:
        await self._call(
            "update_provider_config", session_id=session_id, provider_name=provider_name, model_config=model_config
        )

    async def update_recipe(
        self,
        session_id: str,
        recipe: Recipe | Unset | None = UNSET,
        user_recipe_values: Mapping[str, str] | Unset | None = UNSET,
    ) -> None:
        await self._call("update_recipe", session_id=session_id, recipe=recipe, user_recipe_values=user_recipe_values)

    async def search_chat_history(
        self,
        query: str,
        limit: int | None = None,
        after_date: datetime | None = None,
        before_date: datetime | None = None,
        exclude_session_id: str | None = None,
        *,
        mode: SearchMode = "any",
    ) -> list[ChatHistoryMatch]:
        result: list[ChatHistoryMatch] = await self._call(
            "search_chat_history", query=query, limit=limit, after_date=after_date, before_date=before_date,
            exclude_session_id=exclude_session_id, mode=mode,
        )
        return result

    def __repr__(self) -> str:
        return f"PluginSessionStore(plugin_id={self.plugin_id!r})"


def store_plugins(manager: PluginManager) -> list[str]:
    """The active plugins declaring ``session_store``, the one that answers first."""
    return [p.id for p in manager.plugins() if p.state.value == "active" and CAPABILITY in p.capabilities]


def open_session_store(
    manager: PluginManager | None = None,
    *,
    store: SessionStore | None = None,
    path: str | os.PathLike[str] | None = None,
) -> SessionStore:
    """The session store a host should use: ``store`` if given; else, when ``manager`` has an active plugin
    declaring ``session_store`` (installed plugins are loaded to find out), that plugin's store; else the
    SQLite store at ``path`` (default: :func:`~pluginkit.sessions.default_sessions_path`)."""
    if store is not None:
        return store
    if manager is not None:
        manager.load()
        if store_plugins(manager):
            return PluginSessionStore(manager)
    from pluginkit.sessions._sqlite import SqliteSessionStore  # deferred: sqlite3 loads only when it is the store

    return SqliteSessionStore(path)
