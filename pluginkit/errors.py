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
    # AI-service providers (seed 003's catalogue, pluginkit.providers; statuses as the seed's wire gives them):
    ErrorCode("unknown_error", False, 500, "A provider failed and said no more (seed 003: 1)."),
    ErrorCode("already_exists", False, 409, "The thing to create exists already (seed 003: 4)."),
    ErrorCode("permission_denied", False, 403, "The caller may not do this (seed 003: 5)."),
    ErrorCode("resource_exhausted", True, 429, "A quota or a resource ran out (seed 003: 6)."),
    ErrorCode("failed_precondition", False, 412, "The system is not in a state for this (seed 003: 7, status 412)."),
    ErrorCode("aborted", True, 409, "The operation was aborted by a concurrent one (seed 003: 8)."),
    ErrorCode("out_of_range", False, 400, "A value is past the valid range (seed 003: 9)."),
    ErrorCode("unavailable", True, 503, "The provider or its engine is not available now (seed 003: 12, status 503)."),
    ErrorCode("data_loss", False, 500, "Data was lost or corrupted (seed 003: 13)."),
    ErrorCode("provider_not_found", False, 404, "No provider has this name (seed 003: 1000)."),
    ErrorCode("provider_load_failed", False, 500, "The provider's plugin could not be loaded (seed 003: 1001)."),
    ErrorCode("provider_invalid_config", False, 400, "A provider's manifest is invalid or conflicts (seed 003: 1002)."),
    ErrorCode("provider_start_failed", True, 503, "The provider could not be started (seed 003: 1003)."),
    ErrorCode("provider_stop_failed", False, 500, "The provider could not be stopped (seed 003: 1004)."),
    ErrorCode("provider_health_check_failed", True, 503, "The provider's health check failed (seed 003: 1005)."),
    ErrorCode("engine_not_found", False, 404, "The provider's engine was not found (seed 003: 2000)."),
    ErrorCode("engine_not_installed", False, 412, "The provider's engine is not installed (seed 003: 2001)."),
    ErrorCode("engine_start_failed", True, 503, "The engine did not start or never became healthy (seed 003: 2002)."),
    ErrorCode("engine_stop_failed", False, 500, "The engine could not be stopped (seed 003: 2003)."),
    ErrorCode("engine_install_failed", False, 500, "The engine could not be installed (seed 003: 2004)."),
    ErrorCode("engine_upgrade_failed", False, 500, "The engine could not be upgraded (seed 003: 2005)."),
    ErrorCode("engine_health_check_failed", True, 503, "The engine's health check failed (seed 003: 2006)."),
    ErrorCode("model_not_found", False, 404, "The engine has no such model (seed 003: 3000)."),
    ErrorCode("model_pull_failed", False, 502, "The model could not be pulled (seed 003: 3001)."),
    ErrorCode("model_delete_failed", False, 500, "The model could not be deleted (seed 003: 3002)."),
    ErrorCode("model_load_failed", False, 500, "The model could not be loaded (seed 003: 3003)."),
    ErrorCode("model_unload_failed", False, 500, "The model could not be unloaded (seed 003: 3004)."),
    ErrorCode("model_invalid_format", False, 400, "The model's format is not one the engine reads (seed 003: 3005)."),
    ErrorCode("service_not_found", False, 404, "The provider offers no such service (seed 003: 4000)."),
    ErrorCode("service_unavailable", True, 503, "The service is not available now (seed 003: 4001)."),
    ErrorCode("service_invalid_request", False, 400, "The service rejected the request (seed 003: 4003)."),
    ErrorCode("service_invalid_response", False, 502, "The service answered something unreadable (seed 003: 4004)."),
    ErrorCode("streaming_not_supported", False, 501, "The service does not stream (seed 003: 4005)."),
    ErrorCode("bidirectional_not_supported", False, 501, "The service is not bidirectional (seed 003: 4006)."),
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
