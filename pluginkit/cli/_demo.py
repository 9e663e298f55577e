"""``pluginkit demo``: an OpenAI-format chat request through every stage of the pipeline, shown end to end.

With the example plugins installed (``python3 tasks.py demo`` installs them), the request is translated to
Anthropic's format for the local executor and back, intercepted for secrets, scheduled, and recorded for usage —
streamed and not — and each response's trace is printed under the ABI method names. Then an AI-service provider
starts its engine, pulls a model and answers a request the pipeline routes to it. Without them the demo runs
on a built-in executor and says which plugin would add what.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pluginkit import abi
from pluginkit import types as t
from pluginkit.cli._abi import cmd_methods
from pluginkit.cli._table import format_table
from pluginkit.errors import PluginKitError
from pluginkit.pipeline import Pipeline, Request, StageError
from pluginkit.providers import ProviderHost
from pluginkit.runtime import PluginManager
from pluginkit.scheduling import Credential
from pluginkit.sessions import Message, open_session_store

__all__ = ["run_demo"]

#: What each example plugin adds, for the "would add" list when it is missing.
EXAMPLES = {
    "openai-anthropic": "request.translate / response.translate: OpenAI Chat ⇄ Anthropic Messages",
    "local-executor": "executor.*: a deterministic local model that streams word by word",
    "redact": "request.intercept_before / response.intercept_stream_chunk: masks API keys and e-mail addresses",
    "scheduler": "scheduler.pick: pin, delegate or deny credentials",
    "usage-sqlite": "usage.handle: usage records in SQLite, with a summary",
    "local-engine": "provider.*: an AI-service provider whose engine is a process of its own (seed 003)",
}
DEMO_MODEL = "tiny-chat"
USER_TEXT = "Hello pluginkit! My key is sk-demo1234567890abcdef and my e-mail is ada@example.com."


class EchoExecutor:
    """The built-in executor the demo falls back to: answers in OpenAI's format without a network."""

    @staticmethod
    def _reply(payload: bytes) -> str:
        try:
            messages = json.loads(payload).get("messages", [])
            last = next(m for m in reversed(messages) if m.get("role") == "user")
            text = last["content"] if isinstance(last["content"], str) else json.dumps(last["content"])
        except (ValueError, StopIteration, KeyError, AttributeError):
            text = ""
        return f"(built-in echo) You said: {text}"

    async def execute(self, request: t.ExecutorRequest) -> t.ExecutorResponse:
        reply = self._reply(request.payload)
        body = {"id": "demo", "object": "chat.completion", "model": request.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": len(request.payload) // 4, "completion_tokens": len(reply.split())}}
        return t.ExecutorResponse(payload=json.dumps(body).encode(), headers={"Content-Type": ["application/json"]})

    async def execute_stream(self, request: t.ExecutorRequest) -> AsyncIterator[bytes]:
        for word in self._reply(request.payload).split(" "):
            delta = {"id": "demo", "object": "chat.completion.chunk", "model": request.model,
                     "choices": [{"index": 0, "delta": {"content": word + " "}}]}
            yield f"data: {json.dumps(delta)}\n\n".encode()
        yield b"data: [DONE]\n\n"


def _answer_text(body: bytes) -> str:
    try:
        document = json.loads(body)
        content = document["choices"][0]["message"]["content"]
        return content if isinstance(content, str) else json.dumps(content)
    except (ValueError, KeyError, IndexError, TypeError):
        return body.decode("utf-8", "replace")


def _delta_text(chunk: bytes) -> str:
    text = ""
    for line in chunk.splitlines():
        if line.startswith(b"data:") and line[5:].strip() not in (b"", b"[DONE]"):
            try:
                delta = json.loads(line[5:])["choices"][0].get("delta", {})
            except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                continue
            text += delta.get("content") or ""
    return text


async def _run(args: argparse.Namespace, workdir: Path) -> int:

    config: Any = args.config or {
        # openai-http needs a real upstream (its base_url) and postgres-sessions a server: the demo stays offline
        # and embedded (sessions go to the SQLite default store in a temporary directory).
        "pluginkit": {"disable": ["openai-http", "postgres-sessions"]},
        "plugins": {
            "usage-sqlite": {"path": str(workdir / "usage.sqlite3")},
            "scheduler": {"delegate": "round-robin"},
            "local-engine": {"models_dir": str(workdir / "models"), "source_dir": str(_model_source(workdir))},
        }
    }
    manager = PluginManager(config)
    providers = ProviderHost(manager)  # before loading: it reads the providers' manifests first
    print("== Installed plugins (found without importing, then loaded) ==")
    with manager:
        plugins = manager.plugins()
        rows = [(p.id, p.distribution or p.source, p.version, p.state.value, ",".join(p.capabilities) or "-")
                for p in plugins]
        print(format_table(rows, ("id", "distribution", "version", "state", "capabilities")) if rows else "  none")
        active = {p.id for p in plugins if p.state.value == "active"}
        provider = "local" if "local-executor" in active else "builtin"
        pipeline = Pipeline(
            manager,
            credentials=[Credential("demo-key-1", provider), Credential("demo-key-2", provider)],
            routes={"*": [provider]},
        )
        if provider == "builtin":
            pipeline.add_executor("builtin", EchoExecutor(), input_formats=["openai"], output_formats=["openai"])
        body = json.dumps({"model": "demo-model", "max_tokens": 200, "messages": [
            {"role": "system", "content": "You are a terse demo assistant."},
            {"role": "user", "content": USER_TEXT},
        ]}).encode()
        print(f"\n== 1. An OpenAI chat request, not streamed (executor: {provider}) ==")
        print(f"user: {USER_TEXT}")
        try:
            response = await pipeline.execute(Request(format="openai", model="demo-model", body=body))
            answer = _answer_text(response.body)
            print(f"assistant: {answer}\n")
            print(response.trace.table())
            print("\n== 2. The same request, streamed ==")
            stream = pipeline.stream(Request(format="openai", model="demo-model", body=body, stream=True))
            print("assistant: ", end="", flush=True)
            chunks = 0
            async for chunk in stream:
                chunks += 1
                print(_delta_text(chunk), end="", flush=True)
            print(f"\n({chunks} chunks)\n")
            print(stream.trace.table())
        except StageError as exc:
            print(f"\nthe request failed in {exc.stage}: {exc.code}: {exc.message}")
            print(exc.trace.table())
            return 1
        finally:
            await pipeline.aclose()
        print("\n== 3. The conversation, kept in a session store ==")
        await _record_session(manager, workdir, answer)
        print("\n== 4. An AI-service provider: a local engine, a pulled model, the pipeline's executor ==")
        if "local-engine" in active:
            await _provider(manager, providers)
        else:
            print("  no provider plugin is active")
        print("\n== 5. Usage (usage.handle) ==")
        if "usage-sqlite" in active:
            _print_usage(workdir / "usage.sqlite3", manager)
        else:
            print(f"  {pipeline.usage.delivered} record(s) delivered to usage plugins")
        missing = {name: what for name, what in EXAMPLES.items() if name not in active}
        print("\n== What plugins would add ==")
        if not missing:
            print("  every example plugin is active")
        for name, what in missing.items():
            print(f"  {name:18} {what}")
        unused = sorted({m.capability for m in abi.METHODS.values() if m.capability}
                        - {c for p in plugins if p.state.value == "active" for c in p.capabilities})
        print(f"  capabilities no active plugin provides: {', '.join(unused) or 'none'}")
    return 0


def _model_source(workdir: Path) -> Path:
    """Where the local engine pulls models from: one small model file, made up."""
    source = workdir / "model-source"
    source.mkdir()
    (source / f"{DEMO_MODEL}.bin").write_bytes(bytes(range(256)) * 4096)
    return source


async def _provider(manager: Any, providers: ProviderHost) -> None:
    """Pull a model with the local-engine provider, then answer a chat request through the pipeline with it."""
    try:
        steps: list[Any] = []
        final = await providers.pull_model("local-engine", DEMO_MODEL, progress=steps.append)
        engine = await providers.engine_config("local-engine")
        print(f"  engine started on first use: {engine.host} (status {providers.status('local-engine')})")
        print(f"  pulled {DEMO_MODEL}: {len(steps)} progress steps to {final.completed:,} bytes, {final.status}")
        pipeline = Pipeline(manager, credentials=[Credential("local-engine-key", "local-engine")],
                            routes={DEMO_MODEL: ["local-engine"]})
        providers.serve(pipeline, "local-engine")
        body = json.dumps({"model": DEMO_MODEL, "messages": [{"role": "user", "content": "Hello engine!"}]})
        try:
            response = await pipeline.execute(Request(format="openai", model=DEMO_MODEL, body=body.encode()))
        finally:
            await pipeline.aclose()
        print(f"  assistant ({DEMO_MODEL}): {_answer_text(response.body)}")
        print("  " + response.trace.table().replace("\n", "\n  "))
    except (PluginKitError, StageError) as exc:
        print(f"  the provider failed: {exc}")
    finally:
        await providers.close()  # the engine stops with the demo


async def _record_session(manager: Any, workdir: Path, answer: str) -> None:
    """Keep the demo's exchange in the configured session store (a plugin's, else SQLite) and search it."""

    store = open_session_store(manager, path=workdir / "sessions.sqlite3")
    try:
        session = await store.create_session(str(workdir), "pluginkit demo")
        await store.add_message(session.id, Message.user(USER_TEXT))
        await store.add_message(session.id, Message.assistant(answer))
        stored = await store.get_session(session.id)
        print(f"  session {session.id} ({type(store).__name__}): {stored.message_count} messages")
        hits = await store.search_chat_history("said", limit=3)
        for hit in hits:
            text = hit.message_content if len(hit.message_content) <= 70 else hit.message_content[:69] + "…"
            print(f"  search 'said' → {hit.message_role} in {hit.session_id}: {text} (score {hit.relevance_score:.3g})")
        if not hits:
            print("  search 'said' found nothing")
    finally:
        await store.aclose()


def _print_usage(path: Path, manager: Any) -> None:
    try:  # the example plugin's own summary (an optional distribution: looked up at run time)
        plugin = importlib.import_module("pluginkit_usage_sqlite")
    except ImportError:
        print(f"  records written to {path}")
        return
    print(plugin.format_summary(plugin.summary(path)))


def run_demo(args: argparse.Namespace) -> int:
    print("== The ABI (pluginkit methods) ==")
    cmd_methods(argparse.Namespace(json=False))
    print()
    with tempfile.TemporaryDirectory(prefix="pluginkit-demo-") as workdir:
        return asyncio.run(_run(args, Path(workdir)))
