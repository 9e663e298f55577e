"""The result envelope every ABI call answers with: ``{"ok": true, "result": …}`` or
``{"ok": false, "error": {"code", "message", "retryable"}}``."""

from __future__ import annotations

import re
from typing import Any, Generic, TypeVar

import attrs

from pluginkit.errors import PluginKitError
from pluginkit.wire._codec import from_wire, to_wire
from pluginkit.wire._payload import payload
from pluginkit.wire._scalars import WireError, dumps, loads

__all__ = ["Envelope", "ErrorInfo"]

R = TypeVar("R")


@payload(case="snake")
class ErrorInfo:
    """The ``error`` object of a failed envelope. ``http_status`` (0 = unset) is propagated by HTTP hosts."""

    code: str = ""
    message: str = ""
    retryable: bool = False
    http_status: int = 0
    #: Seconds after which a retry may succeed (``model_cooldown``, upstream 429s); 0 = not said.
    retry_after: float = 0.0

    @classmethod
    def from_exception(cls, exc: PluginKitError) -> ErrorInfo:
        """The envelope's ``error`` object for ``exc``."""
        return cls(
            code=exc.code, message=exc.message, retryable=exc.retryable, http_status=exc.http_status,
            retry_after=exc.retry_after,
        )

    def to_exception(self) -> PluginKitError:
        """This error raised again as a :class:`~pluginkit.errors.PluginKitError` (an envelope read back)."""
        return PluginKitError(
            self.code, self.message, self.retryable, http_status=self.http_status or None,
            retry_after=self.retry_after,
        )


@attrs.define(slots=True)
class Envelope(Generic[R]):
    """The answer of :meth:`PluginManager.invoke`: a result or an error, never an exception.

    >>> Envelope.success({"identifier": "openai"}).to_json()
    b'{"ok":true,"result":{"identifier":"openai"}}'
    >>> Envelope.failure("timeout", "took longer than 2s").to_json()
    b'{"ok":false,"error":{"code":"timeout","message":"took longer than 2s","retryable":true,"http_status":504}}'
    """

    ok: bool
    result: R | None = None
    error: ErrorInfo | None = None

    @classmethod
    def success(cls, result: R) -> Envelope[R]:
        return cls(ok=True, result=result)

    @classmethod
    def failure(
        cls,
        code: str,
        message: str,
        retryable: bool | None = None,
        *,
        http_status: int | None = None,
    ) -> Envelope[Any]:
        """An error envelope; ``retryable`` and ``http_status`` default to the catalogue's for ``code``."""
        error = PluginKitError(code, message, retryable, http_status=http_status)
        return cls(ok=False, error=ErrorInfo.from_exception(error))

    @classmethod
    def from_exception(cls, exc: PluginKitError) -> Envelope[Any]:
        return cls(ok=False, error=ErrorInfo.from_exception(exc))

    def unwrap(self) -> R:
        """The result, or the error raised as :class:`~pluginkit.errors.PluginKitError`."""
        if self.ok:
            return self.result  # type: ignore[return-value]
        assert self.error is not None
        raise self.error.to_exception()

    def to_wire(self) -> dict[str, Any]:
        if self.ok:
            out: dict[str, Any] = {"ok": True}
            if self.result is not None:
                out["result"] = to_wire(self.result)
            return out
        return {"ok": False, "error": to_wire(self.error or ErrorInfo(code="internal_error"))}

    def to_json(self) -> bytes:
        """The envelope as JSON, always valid: text that cannot be UTF-8 (a lone surrogate echoed from a client's
        input) is written with U+FFFD in its place."""
        wire = self.to_wire()
        try:
            return dumps(wire)
        except (TypeError, ValueError):  # orjson's JSONEncodeError is a TypeError; json's is a ValueError
            return dumps(_valid_text(wire))

    @classmethod
    def from_wire(cls, data: Any, result_type: Any = None) -> Envelope[Any]:
        """Read an envelope (JSON text or a JSON-like dict); ``result_type`` types the result.

        Raises :class:`~pluginkit.WireError` when ``data`` is not an envelope.
        """
        if isinstance(data, bytes | bytearray | memoryview | str):
            data = loads(data)
        if not isinstance(data, dict):
            raise WireError("expected an envelope object")
        ok = data.get("ok")
        if ok is not True and ok is not False:
            raise WireError("expected boolean", ["ok"])
        if ok:
            raw = data.get("result")
            if result_type is None:
                return cls(ok=True, result=raw)
            try:
                result = from_wire({} if raw is None else raw, result_type)
            except WireError as exc:
                exc.path.insert(0, "result")
                raise
            return cls(ok=True, result=result)
        try:
            error = from_wire(data.get("error") or {}, ErrorInfo)
        except WireError as exc:
            exc.path.insert(0, "error")
            raise
        return cls(ok=False, error=error)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid_text(value: Any) -> Any:
    """``value`` with every string made encodable as UTF-8 (lone surrogates become U+FFFD)."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_valid_text(key): _valid_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_valid_text(item) for item in value]
    return value
