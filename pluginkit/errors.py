"""Error codes and exceptions.

Every failure a caller can see is an envelope error ``{code, message, retryable}`` (optionally ``http_status``).
:data:`ERROR_CODES` is the catalogue — the reference docs and the CLI read it — and :class:`PluginKitError` is
the exception that carries one; plugins raise :class:`PluginError` to answer with a chosen code.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import NamedTuple

__all__ = [
    "ERROR_CODES",
    "AbiMismatch",
    "ErrorCode",
    "InvalidRequest",
    "PluginError",
    "PluginKitError",
    "UnknownMethod",
]


class ErrorCode(NamedTuple):
    """One entry of the error catalogue (a named tuple: importing the catalogue costs no class building)."""

    code: str
    retryable: bool
    http_status: int
    meaning: str


def _catalogue(*codes: ErrorCode) -> MappingProxyType[str, ErrorCode]:
    return MappingProxyType({c.code: c for c in codes})


#: Every error code pluginkit emits, with whether retrying the same call may succeed.
ERROR_CODES = _catalogue(
    ErrorCode("invalid_request", False, 400, "The params do not fit the method's type; the message names the field."),
    ErrorCode("invalid_method", False, 400, "The method name is empty, not a string, or a lifecycle method."),
    ErrorCode("unknown_method", False, 404, "No ABI method has this dotted name."),
    ErrorCode("invalid_config", False, 400, "A plugin's settings do not match the config fields it declared."),
    ErrorCode("not_handled", False, 501, "No plugin handled the call (none implements it, or every one declined)."),
    ErrorCode("not_found", False, 404, "The thing named (a tool, a session, a stream, a plugin) does not exist."),
    ErrorCode("plugin_error", False, 500, "A plugin raised an unexpected exception; it is fused by default."),
    ErrorCode("plugin_unavailable", True, 503, "The plugin is fused, disabled, failed to load or is shutting down."),
    ErrorCode("abi_mismatch", False, 500, "The plugin was written for an ABI major version the host does not speak."),
    ErrorCode("invalid_registration", False, 500, "A plugin's registration lacks what the seed host requires."),
    ErrorCode("timeout", True, 504, "The call ran past its time limit and was cancelled."),
    ErrorCode("cancelled", False, 499, "The caller cancelled the call."),
    ErrorCode("host_call_failed", False, 502, "A host callback (host.*) failed."),
    ErrorCode("scheduler_denied", False, 403, "A scheduler plugin refused to pick a credential."),
    ErrorCode("unauthenticated", False, 401, "No frontend authenticator accepted the client's request."),
    ErrorCode("upstream_error", False, 502, "The upstream model API failed; retryable when it said so (429, 5xx)."),
    ErrorCode("executor_not_found", False, 502, "No executor serves the request's provider."),
    ErrorCode("auth_not_found", False, 404, "The credential named does not exist."),
    ErrorCode("auth_unavailable", True, 503, "No credential is available for the provider and model."),
    ErrorCode("model_cooldown", True, 429, "Every credential for the model is cooling down; retry after the time."),
    ErrorCode("stream_send_failed", True, 502, "A plugin stream's event could not be sent to the frontends."),
    ErrorCode("stream_invalid_id", False, 400, "A plugin stream's ID is malformed or already used."),
    ErrorCode("stream_not_found", False, 404, "No plugin stream has this ID (for this instance)."),
    ErrorCode("stream_already_ended", False, 409, "The plugin stream has ended (completed, failed or cancelled)."),
    ErrorCode("stream_invalid_state", False, 409, "The plugin stream's state does not allow this operation."),
    ErrorCode("stream_cancelled", False, 499, "The user cancelled the plugin stream."),
    ErrorCode("stream_limit", False, 429, "A plugin stream limit was reached (open streams, chunk or stream size)."),
    ErrorCode("internal_error", False, 500, "A bug in pluginkit itself; please report it."),
)


class PluginKitError(Exception):
    """An error with an envelope code. ``retryable`` and ``http_status`` default to the catalogue's."""

    default_code = "internal_error"

    def __init__(
        self,
        code: str | None = None,
        message: str = "",
        retryable: bool | None = None,
        *,
        http_status: int | None = None,
        retry_after: float = 0.0,
    ) -> None:
        self.code = code or self.default_code
        self.retry_after = retry_after
        self.message = message or self.code.replace("_", " ")
        entry = ERROR_CODES.get(self.code)
        self.retryable = retryable if retryable is not None else bool(entry and entry.retryable)
        self.http_status = http_status if http_status is not None else (entry.http_status if entry else 0)
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class PluginError(PluginKitError):
    """Raised by a plugin to answer with exactly this envelope error (and without being fused).

    >>> raise PluginError("scheduler_denied", "region eu is closed")
    Traceback (most recent call last):
    pluginkit.errors.PluginError: scheduler_denied: region eu is closed
    """

    default_code = "plugin_error"


class InvalidRequest(PluginKitError):
    """Params that do not fit the method's type. The message names the offending field's path."""

    default_code = "invalid_request"


class UnknownMethod(PluginKitError):
    default_code = "unknown_method"


class AbiMismatch(PluginKitError):
    default_code = "abi_mismatch"
