"""The local engine: a process of its own, started by the plugin, that serves models from a directory.

It stands where a real local provider's engine (Ollama, OpenVINO's model server) stands, with the standard
library only: ``python engine.py --models-dir STORE --source-dir SOURCE [--mode cpu|gpu|auto]``. It listens on
127.0.0.1 on a port the system picks, prints that port as its first line (:func:`pluginkit.providers.announce_port`)
and ends when the host ends (:func:`pluginkit.providers.exit_with_host`), so it never outlives the host.

Its HTTP API (JSON bodies; errors answer ``{"error": "..."}`` with 400 or 404):

==========================  ===================================================================================
``GET /health``             ``{"status": "ok", "pid", "mode"}``
``GET /version``            ``{"version"}``
``GET /api/models``         the pulled models: ``{"models": [{"name", "size", "digest", "modified_at"}]}``
``GET /api/running``        the models in memory, same shape
``POST /api/pull``          ``{"model"}``: copy ``SOURCE/<model>.bin`` into the store; the answer streams
                            NDJSON progress lines ``{"status", "total", "completed", "digest"}``
``POST /api/delete``        ``{"model"}``
``POST /api/load``          ``{"model"}``: into memory
``POST /api/unload``        ``{"models": [...]}``
``POST /v1/chat/completions``  OpenAI chat completions (``"stream": true``: OpenAI SSE ending ``data: [DONE]``)
``POST /v1/embeddings``     OpenAI embeddings
==========================  ===================================================================================

The "models" are files; what the engine answers is deterministic (an echo, a hash as a vector), so that tests
can check it. A model must be pulled before a service uses it; using it loads it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pluginkit.providers import announce_port, exit_with_host

VERSION = "1.0.0"
MODES = ("cpu", "gpu", "auto")
#: Bytes copied per progress step of a pull.
CHUNK = 64 * 1024
#: A model name: no path separator, so a name never leaves the store.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
_DIMENSIONS = 8


class EngineError(Exception):
    """A request the engine refuses: answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class Store:
    """The models: pulled ones on disk (``<name>.bin``, its digest in ``<name>.sha256``), loaded ones in memory."""

    def __init__(self, models: Path, source: Path, pull_rate: float = 0.0) -> None:
        self.models, self.source = models, source
        #: Bytes per second a pull may copy (0: as fast as the disk goes), as a download is bounded by its line.
        self.pull_rate = pull_rate
        self._running: dict[str, float] = {}  # name → when it was loaded
        self._lock = threading.Lock()  # the server answers each request in a thread of its own

    def _file(self, directory: Path, name: object) -> Path:
        if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
            raise EngineError(HTTPStatus.BAD_REQUEST, f"invalid model name {name!r}")
        return directory / f"{name}.bin"

    def pulled(self, name: object) -> Path:
        """The model's file in the store; 404 when it is not pulled."""
        path = self._file(self.models, name)
        if not path.is_file():
            raise EngineError(HTTPStatus.NOT_FOUND, f"model {name!r} not found: pull it first")
        return path

    def describe(self, path: Path) -> dict[str, Any]:
        digest = path.with_suffix(".sha256")
        stat = path.stat()
        return {
            "name": path.stem,
            "size": stat.st_size,
            "digest": digest.read_text().strip() if digest.is_file() else "",
            "modified_at": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(),
        }

    def pulled_models(self) -> list[dict[str, Any]]:
        return [self.describe(path) for path in sorted(self.models.glob("*.bin"), key=lambda path: path.stem)]

    def running(self) -> list[dict[str, Any]]:
        with self._lock:
            names = sorted(self._running)
        paths = [self.models / f"{name}.bin" for name in names]
        return [self.describe(path) for path in paths if path.is_file()]

    def source_of(self, name: object) -> Path:
        """The file a pull copies; 404 when the source has no such model."""
        path = self._file(self.source, name)
        if not path.is_file():
            raise EngineError(HTTPStatus.NOT_FOUND, f"model {name!r} not found in {self.source}")
        return path

    def pull(self, name: str, source: Path) -> Iterator[dict[str, Any]]:
        """Copy ``source`` into the store, a chunk at a time, yielding the progress after each chunk and a last
        ``success`` step. The copy goes to a ``.part`` file renamed at the end: a pull that is cut short leaves no
        half model behind (``init_env`` removes the ``.part`` files)."""
        target = self._file(self.models, name)
        part = self.models / f".{name}.{threading.get_ident()}.part"
        total, completed, digest = source.stat().st_size, 0, hashlib.sha256()
        try:
            with source.open("rb") as reader, part.open("wb") as writer:
                while chunk := reader.read(CHUNK):
                    writer.write(chunk)
                    digest.update(chunk)
                    completed += len(chunk)
                    yield {"status": "pulling", "total": total, "completed": completed}
                    if self.pull_rate:
                        time.sleep(len(chunk) / self.pull_rate)
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
        target.with_suffix(".sha256").write_text(f"sha256:{digest.hexdigest()}\n")
        yield {"status": "success", "total": total, "completed": completed, "digest": f"sha256:{digest.hexdigest()}"}

    def delete(self, name: object) -> None:
        path = self.pulled(name)
        with self._lock:
            self._running.pop(path.stem, None)
        path.with_suffix(".sha256").unlink(missing_ok=True)
        path.unlink()

    def load(self, name: object) -> str:
        path = self.pulled(name)
        with self._lock:
            self._running.setdefault(path.stem, time.time())
        return path.stem

    def unload(self, names: list[str]) -> None:
        with self._lock:
            for name in names:
                self._running.pop(name, None)


# -- the services' deterministic answers ----------------------------------------------------------------------------
def said(messages: list[Any]) -> str:
    """The last user message's text."""
    text = ""
    for message in messages:
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):  # OpenAI content parts
                content = " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
            text = str(content or "")
    return " ".join(text.split())


def reply_to(model: str, text: str) -> str:
    """What ``model`` answers: the user's words back."""
    return f"{model} heard: {text or 'nothing'}"


def embedding(model: str, text: str) -> list[float]:
    """A unit vector that depends only on the model and the text."""
    raw = hashlib.sha256(f"{model}\0{text}".encode()).digest()
    values = [v / 2**31 for v in struct.unpack(f">{_DIMENSIONS}i", raw[: 4 * _DIMENSIONS])]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    return [round(v / norm, 6) for v in values]


def completion(model: str, text: str, prompt_tokens: int) -> dict[str, Any]:
    words = len(text.split())
    return {
        "id": f"chatcmpl-{hashlib.sha256(text.encode()).hexdigest()[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": words, "total_tokens": prompt_tokens + words},
    }


def completion_chunks(model: str, text: str) -> Iterator[dict[str, Any]]:
    """The answer as OpenAI stream chunks: the role, a word per chunk, then the finish reason."""
    head = {"id": f"chatcmpl-{hashlib.sha256(text.encode()).hexdigest()[:12]}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model}
    yield {**head, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
    for index, word in enumerate(text.split()):
        delta = {"content": word if index == 0 else f" {word}"}
        yield {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    yield {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}


# -- HTTP -------------------------------------------------------------------------------------------------------------
class Engine(ThreadingHTTPServer):
    """The server: its store and its mode, for the handler."""

    def __init__(self, store: Store, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), Handler)  # port 0: the system picks a free one
        self.store, self.mode = store, mode


class Handler(BaseHTTPRequestHandler):
    """One request. HTTP/1.0 (the default): a streamed answer simply ends when the connection closes."""

    server: Engine

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the engine's output is the host's; it says nothing after its port line."""

    def do_GET(self) -> None:
        self._route(GET_ROUTES)

    def do_POST(self) -> None:
        self._route(POST_ROUTES)

    def _route(self, routes: dict[str, Callable[[Handler, dict[str, Any]], None]]) -> None:
        route = routes.get(self.path.split("?", 1)[0])
        try:
            if route is None:
                raise EngineError(HTTPStatus.NOT_FOUND, f"no route {self.command} {self.path}")
            route(self, self._body())
        except EngineError as exc:
            self._json({"error": str(exc)}, exc.status)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            raise EngineError(HTTPStatus.BAD_REQUEST, "the body is not JSON") from None
        if not isinstance(body, dict):
            raise EngineError(HTTPStatus.BAD_REQUEST, "the body is not a JSON object")
        return body

    def _json(self, value: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, content_type: str, lines: Iterator[bytes]) -> None:
        """Send each line as soon as it is made (the socket is unbuffered), then close."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.end_headers()
        for line in lines:
            self.wfile.write(line)

    # -- routes ---------------------------------------------------------------------------------------------------
    def health(self, body: dict[str, Any]) -> None:
        self._json({"status": "ok", "pid": os.getpid(), "mode": self.server.mode})

    def version(self, body: dict[str, Any]) -> None:
        self._json({"version": VERSION})

    def models(self, body: dict[str, Any]) -> None:
        self._json({"models": self.server.store.pulled_models()})

    def running(self, body: dict[str, Any]) -> None:
        self._json({"models": self.server.store.running()})

    def pull(self, body: dict[str, Any]) -> None:
        store, name = self.server.store, body.get("model")
        source = store.source_of(name)  # before the answer starts: a missing model is a 404, not a stream

        def lines() -> Iterator[bytes]:
            try:
                for step in store.pull(str(name), source):
                    yield json.dumps(step).encode() + b"\n"
            except OSError as exc:  # the status is sent already: the failure is the last line
                yield json.dumps({"error": f"pull of {name!r} failed: {exc}"}).encode() + b"\n"

        self._stream("application/x-ndjson", lines())

    def delete(self, body: dict[str, Any]) -> None:
        self.server.store.delete(body.get("model"))
        self._json({})

    def load(self, body: dict[str, Any]) -> None:
        self.server.store.load(body.get("model"))
        self._json({})

    def unload(self, body: dict[str, Any]) -> None:
        models = body.get("models")
        if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
            raise EngineError(HTTPStatus.BAD_REQUEST, "models must be a list of names")
        self.server.store.unload(models)
        self._json({})

    def chat(self, body: dict[str, Any]) -> None:
        messages = body.get("messages")
        if not isinstance(messages, list):
            raise EngineError(HTTPStatus.BAD_REQUEST, "messages must be a list")
        model = self.server.store.load(body.get("model"))  # a service loads its model, as Ollama does
        question = said(messages)
        text = reply_to(model, question)
        if not body.get("stream"):
            self._json(completion(model, text, len(question.split())))
            return
        events = (b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in completion_chunks(model, text))
        self._stream("text/event-stream", iter([*events, b"data: [DONE]\n\n"]))

    def embeddings(self, body: dict[str, Any]) -> None:
        model = self.server.store.load(body.get("model"))
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
            raise EngineError(HTTPStatus.BAD_REQUEST, "input must be a string or a list of strings")
        tokens = sum(len(text.split()) for text in texts)
        self._json({
            "object": "list",
            "model": model,
            "data": [{"object": "embedding", "index": i, "embedding": embedding(model, text)}
                     for i, text in enumerate(texts)],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        })


GET_ROUTES: dict[str, Callable[[Handler, dict[str, Any]], None]] = {
    "/health": Handler.health,
    "/version": Handler.version,
    "/api/models": Handler.models,
    "/api/running": Handler.running,
}
POST_ROUTES: dict[str, Callable[[Handler, dict[str, Any]], None]] = {
    "/api/pull": Handler.pull,
    "/api/delete": Handler.delete,
    "/api/load": Handler.load,
    "/api/unload": Handler.unload,
    "/v1/chat/completions": Handler.chat,
    "/v1/embeddings": Handler.embeddings,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--models-dir", type=Path, required=True, help="the model store")
    parser.add_argument("--source-dir", type=Path, required=True, help="where models are pulled from")
    parser.add_argument("--mode", choices=MODES, default="auto")
    parser.add_argument("--pull-rate", type=float, default=0.0, help="bytes per second a pull copies (0: no limit)")
    args = parser.parse_args(argv)
    args.models_dir.mkdir(parents=True, exist_ok=True)
    server = Engine(Store(args.models_dir, args.source_dir, args.pull_rate), args.mode)
    exit_with_host()  # first: from here on the engine ends with the host, whatever happens next
    announce_port(server.server_address[1])
    sys.stdout = sys.stderr  # after the port line, what the engine prints is log (the host keeps it at debug)
    server.serve_forever()


if __name__ == "__main__":
    main()
