"""The errors a session store raises.

They are :class:`~pluginkit.PluginKitError` subclasses with catalogue codes, so an error raised by a store inside
a plugin reaches a host through the ABI with the same code (``not_found``, ``invalid_request`` …) and the
adapter (:class:`~pluginkit.sessions.PluginSessionStore`) turns it back into the same class.
"""

from __future__ import annotations

from pluginkit.errors import PluginKitError

__all__ = ["InvalidSessionData", "SessionNotFound", "SessionStoreBusy", "SessionStoreError", "SessionStoreUnavailable"]


class SessionStoreError(PluginKitError):
    """Base class of the session store errors."""

    default_code = "internal_error"


class SessionNotFound(SessionStoreError):
    """No session has the id given."""

    default_code = "not_found"

    @classmethod
    def for_id(cls, session_id: str) -> SessionNotFound:
        return cls(message=f"session {session_id!r} not found")


class InvalidSessionData(SessionStoreError):
    """Input a store refuses (wrong type, malformed or oversized import JSON, a bad extension key …). Nothing
    was written."""

    default_code = "invalid_request"


class SessionStoreBusy(SessionStoreError):
    """The store could not take its write lock in time (another process held it). Retrying may succeed."""

    default_code = "timeout"


class SessionStoreUnavailable(SessionStoreError):
    """The store's backing service cannot be reached (a database server down). Retrying may succeed."""

    default_code = "plugin_unavailable"


#: Catalogue code → the class the adapter raises for it.
BY_CODE: dict[str, type[SessionStoreError]] = {
    "not_found": SessionNotFound,
    "invalid_request": InvalidSessionData,
    "timeout": SessionStoreBusy,
    "plugin_unavailable": SessionStoreUnavailable,
}
