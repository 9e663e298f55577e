"""Seed 003's error numbers on pluginkit's envelopes, and back.

The seed has two: the SDK's catalogue (``types.PluginError.Code``: 0–14 generic, gRPC-like; 1000s plugin, 2000s
engine, 3000s model, 4000s service) and the wire's status (``protocol.PluginError.Code``: 0 or 200 success, else
400, 401, 404, 408, 412, 500, 501, 502, 503), which the seed's server derives from an error's words
(``MapErrorToPluginCode``). Every catalogue number has an envelope code (the generic ones pluginkit's own where one
means the same); :func:`number` gives a number back for ported code that compares them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pluginkit.errors import PluginError, PluginKitError

__all__ = [
    "CATALOGUE",
    "STATUS_CODES",
    "ProviderError",
    "envelope_code",
    "number",
    "status_of_text",
]

#: The SDK's catalogue: number → (the seed's constant name, the envelope code).
CATALOGUE: Mapping[int, tuple[str, str]] = MappingProxyType({
    1: ("ErrCodeUnknown", "unknown_error"),
    2: ("ErrCodeInvalidArgument", "invalid_request"),
    3: ("ErrCodeNotFound", "not_found"),
    4: ("ErrCodeAlreadyExists", "already_exists"),
    5: ("ErrCodePermissionDenied", "permission_denied"),
    6: ("ErrCodeResourceExhausted", "resource_exhausted"),
    7: ("ErrCodeFailedPrecondition", "failed_precondition"),
    8: ("ErrCodeAborted", "aborted"),
    9: ("ErrCodeOutOfRange", "out_of_range"),
    10: ("ErrCodeUnimplemented", "not_handled"),
    11: ("ErrCodeInternal", "plugin_error"),
    12: ("ErrCodeUnavailable", "unavailable"),
    13: ("ErrCodeDataLoss", "data_loss"),
    14: ("ErrCodeUnauthenticated", "unauthenticated"),
    1000: ("ErrCodePluginNotFound", "provider_not_found"),
    1001: ("ErrCodePluginLoadFailed", "provider_load_failed"),
    1002: ("ErrCodePluginInvalidConfig", "provider_invalid_config"),
    1003: ("ErrCodePluginStartFailed", "provider_start_failed"),
    1004: ("ErrCodePluginStopFailed", "provider_stop_failed"),
    1005: ("ErrCodePluginHealthCheckFailed", "provider_health_check_failed"),
    2000: ("ErrCodeEngineNotFound", "engine_not_found"),
    2001: ("ErrCodeEngineNotInstalled", "engine_not_installed"),
    2002: ("ErrCodeEngineStartFailed", "engine_start_failed"),
    2003: ("ErrCodeEngineStopFailed", "engine_stop_failed"),
    2004: ("ErrCodeEngineInstallFailed", "engine_install_failed"),
    2005: ("ErrCodeEngineUpgradeFailed", "engine_upgrade_failed"),
    2006: ("ErrCodeEngineHealthCheckFailed", "engine_health_check_failed"),
    3000: ("ErrCodeModelNotFound", "model_not_found"),
    3001: ("ErrCodeModelPullFailed", "model_pull_failed"),
    3002: ("ErrCodeModelDeleteFailed", "model_delete_failed"),
    3003: ("ErrCodeModelLoadFailed", "model_load_failed"),
    3004: ("ErrCodeModelUnloadFailed", "model_unload_failed"),
    3005: ("ErrCodeModelInvalidFormat", "model_invalid_format"),
    4000: ("ErrCodeServiceNotFound", "service_not_found"),
    4001: ("ErrCodeServiceUnavailable", "service_unavailable"),
    4002: ("ErrCodeServiceTimeout", "timeout"),
    4003: ("ErrCodeServiceInvalidRequest", "service_invalid_request"),
    4004: ("ErrCodeServiceInvalidResponse", "service_invalid_response"),
    4005: ("ErrCodeServiceStreamingNotSupported", "streaming_not_supported"),
    4006: ("ErrCodeServiceBidirectionalNotSupported", "bidirectional_not_supported"),
})

#: The wire's status numbers (``protocol.PluginCode*``) → envelope code.
STATUS_CODES: Mapping[int, str] = MappingProxyType({
    400: "invalid_request",
    401: "unauthenticated",
    404: "not_found",
    408: "timeout",
    412: "failed_precondition",
    500: "plugin_error",
    501: "not_handled",
    502: "upstream_error",
    503: "unavailable",
})
_NUMBERS = {code: n for n, (_, code) in sorted(CATALOGUE.items(), reverse=True)}  # the lowest number wins a tie
#: ``MapErrorToPluginCode``'s word rules, in its order: the first word found in the lower-cased text decides.
_WORDS = (
    (("auth", "unauthorized", "authentication"), 401),
    (("not found", "does not exist", "model not found"), 404),
    (("not installed", "not loaded", "engine not"), 412),
    (("not running", "unavailable", "not healthy"), 503),
    (("timeout", "deadline"), 408),
    (("not implemented", "not supported"), 501),
    (("invalid", "bad request"), 400),
)


def envelope_code(code: int | str) -> str:
    """The envelope code of a catalogue number, a wire status, or an envelope code (returned as it is)."""
    if isinstance(code, str):
        return code
    if code in CATALOGUE:
        return CATALOGUE[code][1]
    return STATUS_CODES.get(code, "plugin_error")


def number(code: str) -> int:
    """The catalogue number of an envelope code (``0`` for a code the catalogue has no number for)."""
    return _NUMBERS.get(code, 0)


def status_of_text(text: str) -> int:
    """The wire status the seed's server gives an error by its words (``MapErrorToPluginCode``)."""
    lowered = text.lower()
    for words, status in _WORDS:
        if any(word in lowered for word in words):
            return status
    return 500


class ProviderError(PluginError):
    """An error a provider plugin raises with a seed 003 number (``ProviderError(2001, "engine not installed")``),
    a wire status (``ProviderError(412, ...)``) or an envelope code. It is the plugin's answer: the caller gets
    the envelope code, and the plugin is not fused. ``details`` is appended as the seed's ``Error()`` does."""

    def __init__(self, code: int | str, message: str = "", details: str = "") -> None:
        self.number = code if isinstance(code, int) else number(code)
        super().__init__(envelope_code(code), f"{message}: {details}" if details else message)


def from_text(text: str) -> PluginKitError:
    """An error given only as text (a chunk's or a message's ``error``), coded by its words as the seed does."""
    return PluginKitError(STATUS_CODES[status_of_text(text)], text)
