"""Secrets never reach a log, a plugin's reason or an error message (issue 12, item 11), whatever form they come
in: ``%`` arguments, tracebacks, URLs with a user or a key, structured fields of any shape."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from pluginkit import PluginContext, PluginManager, PluginState, hookimpl
from pluginkit import types as t
from pluginkit.redaction import REDACTED, TOO_DEEP, redact_text, redact_value

TOKEN = "Bearer abcdefghijklmnop"
KEY = "sk-live1234567890abcdef"


def test_redact_text_masks_every_form_of_credential() -> None:
    masked = redact_text(
        f"Authorization: {TOKEN}; proxy Basic dXNlcjpwYXNzd29yZA==; "
        "url https://ada:hunter22@example.com/v1?api_key=s3cr3tv4lue&model=m; form password=letmein"
    )
    for secret in ("abcdefghijklmnop", "dXNlcjpwYXNzd29yZA", "hunter22", "s3cr3tv4lue", "letmein"):
        assert secret not in masked
    assert "model=m" in masked and "example.com/v1" in masked  # what is not a secret stays readable


def test_redact_value_takes_any_key_and_any_depth() -> None:
    deep: Any = "x"
    for _ in range(200):
        deep = {"level": deep}
    out = redact_value("fields", {1: "a", ("t",): KEY, "api_key": "v", "deep": deep})
    assert out["1"] == "a" and out["('t',)"] == REDACTED and out["api_key"] == REDACTED
    level = out["deep"]
    while isinstance(level, dict):
        level = level["level"]
    assert level == TOO_DEEP


class Chatty:
    @hookimpl
    def request_translate(self, params: t.RequestTranslateRequest, ctx: PluginContext) -> t.BodyResult:
        ctx.log.info("headers: %s", {"Authorization": [TOKEN]})
        ctx.log.warning("%(who)s sent %(key)s", {"who": "client", "key": KEY})
        try:
            raise ValueError(f"upstream refused {KEY}")
        except ValueError:
            ctx.log.exception("call failed")
        return t.BodyResult(body=b"ok")


class Leaky:
    @hookimpl
    def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        raise RuntimeError(f"could not call https://bob:pa55word@api.example.com with {TOKEN}")


def test_plugin_logs_mask_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with PluginManager(entry_points=False, environ={}) as manager:
        manager.register(Chatty(), "chatty")
        assert manager.invoke("request.translate", {"Body": "aGk="}).ok
    text = "\n".join(record.getMessage() for record in caplog.records) + caplog.text
    assert "abcdefghijklmnop" not in text and KEY not in text
    assert text.count(REDACTED) >= 3 and "client sent" in text and "ValueError: upstream refused" in text


def test_a_fused_plugins_reason_and_logged_traceback_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    with PluginManager(entry_points=False, environ={}) as manager:
        manager.register(Leaky(), "leaky")
        envelope = manager.invoke("request.normalize", {"Body": "aGk="})
        info = manager.plugin("leaky")
    assert envelope.ok  # a chain keeps the body when a normaliser fails
    assert info.state is PluginState.FUSED and "RuntimeError" in info.reason
    for secret in ("pa55word", "abcdefghijklmnop"):
        assert secret not in info.reason and secret not in caplog.text
    assert "Traceback" in caplog.text


def test_host_http_errors_do_not_echo_credentials_of_the_url() -> None:
    with PluginManager(entry_points=False, environ={}) as manager:
        envelope = manager.invoke(
            "host.http.do", {"Method": "GET", "URL": "http://ada:hunter22@127.0.0.1:9/path?api_key=s3cr3tv4lue"}
        )
    assert envelope.error.code == "host_call_failed"
    assert "hunter22" not in envelope.error.message and "s3cr3tv4lue" not in envelope.error.message
    assert "127.0.0.1:9/path" in envelope.error.message


def test_host_log_takes_fields_of_any_shape(caplog: pytest.LogCaptureFixture) -> None:
    deep: Any = {"k": "v"}
    for _ in range(500):
        deep = {"d": deep}
    caplog.set_level(logging.DEBUG)
    with PluginManager(entry_points=False, environ={}) as manager:
        typed = t.HostLog(level="info", message="m", fields={"deep": deep, "token": KEY})
        assert manager.invoke("host.log", typed).ok
        assert manager.invoke("host.log", t.HostLog(level="info", message="m", fields={1: "x"})).ok  # type: ignore[dict-item]
        wire_deep: Any = {"k": "v"}
        for _ in range(100):
            wire_deep = {"d": wire_deep}
        assert manager.invoke("host.log", {"Level": "info", "Message": "m", "Fields": wire_deep}).ok
        for _ in range(5000):  # past Python's recursion limit: refused, never an internal error
            wire_deep = {"d": wire_deep}
        refused = manager.invoke("host.log", {"Level": "info", "Message": "m", "Fields": wire_deep})
        assert refused.error.code == "invalid_request" and "nested deeper" in refused.error.message
    assert KEY not in caplog.text and TOO_DEEP in caplog.text
