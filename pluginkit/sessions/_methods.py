"""The ``session.*`` family of the ABI table: one single-owner method per contract method.

Called by :mod:`pluginkit.abi` while it builds the table, so it imports the table inside the function; the
operations it reads import only payload helpers, :mod:`pluginkit.types` and the wire converter.
"""

from __future__ import annotations

__all__ = ["define_methods"]

_PLUGIN_NOTE = (
    'As a hook: ``params`` carries the arguments (a ``None`` field of a partial update means "leave it"; its name\n'
    'in ``params.clear`` means "set it to null"). Return the result type, ``Empty()`` when the method returns\n'
    "nothing. The highest-priority plugin declaring ``session_store`` answers every ``session.*`` call;\n"
    "``pluginkit.sessions.SessionStorePlugin`` turns any ``SessionStore`` into these hooks."
)


def define_methods() -> None:
    """Add ``session.create_session`` … ``session.search_chat_history`` (capability ``session_store``)."""
    from pluginkit import abi
    from pluginkit.sessions._operations import OPERATIONS

    for op in OPERATIONS:
        abi.define(
            op.abi_name, op.params, op.result, abi.Combine.SINGLE_OWNER,
            capability="session_store", owner="priority", fallback=abi.Fallback.ERROR, timeout=op.timeout,
            summary=op.summary, doc="\n\n".join(part for part in (op.details, _PLUGIN_NOTE) if part),
        )
