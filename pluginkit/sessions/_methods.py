"""The ``session.*`` family of the ABI table (listed in :mod:`pluginkit.abi._families`): one single-owner method
per method of the :class:`~pluginkit.sessions.SessionStore` contract."""

from __future__ import annotations

from pluginkit.abi import Combine, Fallback, Method
from pluginkit.sessions._operations import OPERATIONS

__all__ = ["METHODS"]

_PLUGIN_NOTE = (
    'As a hook: ``params`` carries the arguments (a ``None`` field of a partial update means "leave it"; its name\n'
    'in ``params.clear`` means "set it to null"). Return the result type, ``Empty()`` when the method returns\n'
    "nothing. The highest-priority plugin declaring ``session_store`` answers every ``session.*`` call;\n"
    "``pluginkit.sessions.SessionStorePlugin`` turns any ``SessionStore`` into these hooks."
)

#: ``session.create_session`` … ``session.search_chat_history``, declared with the ``session_store`` capability.
METHODS: tuple[Method, ...] = tuple(
    Method(
        op.abi_name, op.params, op.result, Combine.SINGLE_OWNER,
        capability="session_store", owner="priority", fallback=Fallback.ERROR, timeout=op.timeout,
        summary=op.summary, doc="\n\n".join(part for part in (op.details, _PLUGIN_NOTE) if part),
    )
    for op in OPERATIONS
)
