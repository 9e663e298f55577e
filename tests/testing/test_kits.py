"""The family kits pass on the example plugins and catch the planted bug each one is written against."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pluginkit import hookimpl
from pluginkit import types as t

# -- the kits on real plugins (each module-level fixture below makes pytest collect that kit) ----------------------


@pytest.fixture
def pluginkit_scheduler(on_path: Path) -> object:
    import pluginkit_scheduler

    return pluginkit_scheduler, {"auth_id": "b", "delegate": "round-robin"}


@pytest.fixture
def pluginkit_translator(on_path: Path) -> object:
    import pluginkit_openai_anthropic

    body = b'{"model": "m", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}'
    answer = (b'{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text",'
              b'"text":"hello"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}')
    return pluginkit_openai_anthropic, [("claude", "openai", body), ("response", "claude", "openai", answer)]


@pytest.fixture
def pluginkit_stream_interceptor(on_path: Path) -> object:
    import pluginkit_redact

    return pluginkit_redact


@pytest.fixture
def pluginkit_interceptor(on_path: Path) -> object:
    import pluginkit_redact

    return pluginkit_redact


@pytest.fixture
def pluginkit_executor(on_path: Path) -> object:
    import pluginkit_executors.local

    payload = b'{"model": "local-model", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}'
    return pluginkit_executors.local, t.ExecutorRequest(model="local-model", format="claude", payload=payload)


@pytest.fixture
def pluginkit_usage_recorder(on_path: Path, tmp_path: Path) -> object:
    import pluginkit_usage_sqlite

    return pluginkit_usage_sqlite, {"path": str(tmp_path / "usage.sqlite3")}


@pytest.fixture
def pluginkit_tools(on_path: Path) -> object:
    import pluginkit_time_tool

    return pluginkit_time_tool.tools


# -- and what each kit catches ------------------------------------------------------------------------------------

PLANTED = '''
import pytest
from pluginkit import hookimpl
from pluginkit import types as t

class Wrong:
{body}

@pytest.fixture
def {fixture}():
    return {value}
'''


@pytest.mark.parametrize(
    ("fixture", "body", "value", "failing"),
    [
        ("pluginkit_scheduler", """
    @hookimpl
    def scheduler_pick(self, params):
        return t.SchedulerPickResult(auth_id="not-offered", handled=True)""", "Wrong()",
         "test_answers_only_among_the_candidates"),
        ("pluginkit_stream_interceptor", """
    @hookimpl
    def response_intercept_stream_chunk(self, params):
        return t.StreamChunkInterceptResult(drop_chunk=True)""", "Wrong()", "test_the_header_call"),
        ("pluginkit_interceptor", """
    @hookimpl
    def request_intercept_before(self, params):
        return t.InterceptResult(body=params.body + params.headers["Authorization"][0].encode())""", "Wrong()",
         "test_answers_well_formed_changes_for_any_request"),
        ("pluginkit_usage_recorder", """
    @hookimpl
    def usage_handle(self, params):
        1 / params.detail.total_tokens""", "Wrong()", "test_takes_any_record"),
        ("pluginkit_translator", """
    @hookimpl
    def request_translate(self, params):
        import json
        return t.BodyResult(body=json.dumps(json.loads(params.body)).encode())""",
         '(Wrong(), [("openai", "claude", b"{}")])', "test_a_broken_body_is_refused_not_a_crash"),
    ],
    ids=["scheduler", "stream-interceptor", "interceptor", "usage", "translator"],
)
def test_each_kit_catches_its_planted_bug(tmp_path: Path, fixture: str, body: str, value: str, failing: str) -> None:
    (tmp_path / "test_planted.py").write_text(PLANTED.format(body=body, fixture=fixture, value=value))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout[-2000:]
    assert f"{failing} FAILED" in done.stdout.replace("::", " ") or f"::{failing}" in done.stdout, done.stdout[-2000:]


def test_a_plugin_kept_out_of_the_kit_is_named() -> None:
    """The helper used by every kit refuses a plugin that does not load, with its reason."""
    from pluginkit.testing._kits import loaded

    class Broken:
        @hookimpl
        def plugin_register(self) -> t.Registration:
            raise RuntimeError("no")

    with pytest.raises(AssertionError, match="did not load"):
        next(loaded(Broken()))
