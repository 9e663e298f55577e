"""The request id a host is serving, and the logger a plugin writes with (which attaches that id)."""

from __future__ import annotations

import contextvars
import logging
import sys
import traceback
from collections.abc import Mapping
from typing import Any

from pluginkit.redaction import redact_text, redact_value

__all__ = ["PluginLogger", "current_request_id", "describe", "log_failure"]

#: The id of the request being served, attached to plugin log records. Hosts set it per request.
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("pluginkit_request_id", default="")


def describe(exc: BaseException) -> str:
    """``Type: message`` of an exception, secrets masked (for a fused plugin's reason, an error message)."""
    return redact_text(f"{type(exc).__name__}: {exc}")


def log_failure(logger: logging.Logger, exc: BaseException, message: str, *args: Any) -> None:
    """Log ``message`` with ``exc``'s traceback at error level, secrets masked in the traceback too (a traceback
    repeats the exception's text, which may hold a credential)."""
    trace = redact_text("".join(traceback.format_exception(exc)).rstrip())
    logger.error(f"{message}\n%s", *args, trace)


class PluginLogger(logging.LoggerAdapter[logging.Logger]):
    """A plugin's logger (``pluginkit.plugin.<id>``): adds ``plugin_id`` and the current ``request_id`` to every
    record and masks values that look like secrets — in the message, its ``%`` arguments, its ``fields`` and the
    traceback of ``exc_info``."""

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        if args:  # formatted here, not by the handler: the arguments must be masked as well
            if len(args) == 1 and isinstance(args[0], Mapping) and args[0]:
                args = args[0]  # type: ignore[assignment]  # logging's one-mapping form: "%(key)s"
            try:
                msg = str(msg) % args
            except (TypeError, ValueError, KeyError):
                msg = f"{msg} {args!r}"
        exc_info = kwargs.pop("exc_info", None)
        if exc_info:
            exc = exc_info if isinstance(exc_info, BaseException) else None
            if exc is None:  # exc_info=True: the exception being handled
                exc = sys.exc_info()[1]
            if exc is not None:
                msg = f"{msg}\n{''.join(traceback.format_exception(exc)).rstrip()}"
        super().log(level, msg, **kwargs)

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = dict(self.extra or {})
        extra["request_id"] = current_request_id.get()
        fields = kwargs.pop("fields", None)
        if fields:
            extra["fields"] = {k: redact_value(k, v) for k, v in fields.items()}
            msg = f"{msg} {extra['fields']}"
        kwargs["extra"] = {**extra, **kwargs.get("extra", {})}
        return redact_text(str(msg)), kwargs
