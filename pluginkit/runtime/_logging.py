"""The request id a host is serving, and the logger a plugin writes with (which attaches that id)."""

from __future__ import annotations

import contextvars
import logging
from typing import Any

from pluginkit.redaction import redact_text, redact_value

__all__ = ["PluginLogger", "current_request_id"]

#: The id of the request being served, attached to plugin log records. Hosts set it per request.
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("pluginkit_request_id", default="")


class PluginLogger(logging.LoggerAdapter[logging.Logger]):
    """A plugin's logger (``pluginkit.plugin.<id>``): adds ``plugin_id`` and the current ``request_id`` to every
    record and masks values that look like secrets."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = dict(self.extra or {})
        extra["request_id"] = current_request_id.get()
        fields = kwargs.pop("fields", None)
        if fields:
            extra["fields"] = {k: redact_value(k, v) for k, v in fields.items()}
            msg = f"{msg} {extra['fields']}"
        kwargs["extra"] = {**extra, **kwargs.get("extra", {})}
        return redact_text(str(msg)), kwargs
