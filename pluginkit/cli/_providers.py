"""``pluginkit providers list | status | health | models | pull MODEL | rm MODEL | invoke SERVICE``.

Each command builds a :class:`~pluginkit.providers.ProviderHost` on the configuration given with ``--config``,
runs, then stops every engine it started and shuts the manager down: an engine never outlives the command.
``--provider NAME`` picks the provider (needed only when more than one is installed). ``pull`` draws its progress
with rich (``pip install 'pluginkit[cli]'``; without it, one line per step) and Ctrl-C stops it cleanly (exit 130).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from pluginkit.cli._table import format_table
from pluginkit.errors import PluginKitError

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    """Add the providers family's subcommands to the ``pluginkit`` parser."""
    providers = subparsers.add_parser("providers", help="AI-service providers: status, models, invoke")
    sub = providers.add_subparsers(dest="providers_command", required=True)

    def command(name: str, run: Callable[..., Awaitable[int]], help: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help)
        p.add_argument("--provider", "-p", help="the provider's name (default: the only one installed)")
        p.set_defaults(run=lambda args: _run(args, run))
        return p

    p = command("list", cmd_list, "every provider: type, version, plugin, status, services")
    p.add_argument("--json", action="store_true")
    command("status", cmd_status, "each provider's status (running, stopped, unloaded) and why")
    command("health", cmd_health, "run health checks (exit 1 when one fails)")
    p = command("models", cmd_models, "a local provider's models (pulled, running); a remote one's supported")
    p.add_argument("--supported", action="store_true", help="the models the manifest lists, for any provider")
    p = command("pull", cmd_pull, "pull a model, with a progress bar")
    p.add_argument("model")
    p = command("rm", cmd_rm, "delete a pulled model")
    p.add_argument("model")
    p = command("invoke", cmd_invoke, "call a service and print its answer")
    p.add_argument("service")
    p.add_argument("request", nargs="?", default="{}", help="the request body (JSON), or - to read stdin")
    p.add_argument("--stream", action="store_true", help="a streamed call: print each chunk as it arrives")
    p.add_argument("--auth-info", default="", help="the credential the service gets (default: none)")


def _run(args: argparse.Namespace, command: Callable[..., Awaitable[int]]) -> int:
    import asyncio  # deferred: `pluginkit --help` need not import asyncio

    from pluginkit.providers import ProviderHost  # deferred: the runtime loads only when a providers command runs
    from pluginkit.runtime import PluginManager  # deferred, as above

    manager = PluginManager(args.config)
    host = ProviderHost(manager)  # before load: a provider whose name is taken is never imported
    manager.load()

    async def main() -> int:
        try:
            return await _interruptible(command(host, args))
        finally:
            await host.close()  # every engine this command started stops with it

    try:
        return asyncio.run(main())
    finally:
        manager.shutdown()


async def _interruptible(work: Awaitable[int]) -> int:
    """``work``, or 130 once Ctrl-C cancelled it (the plugin's call is cancelled, its stream closed)."""
    import asyncio  # deferred: as in _run
    import contextlib  # deferred, as above

    from pluginkit.cli._ctrl_c import ctrl_c  # deferred, as above

    async with ctrl_c() as stop:
        task = asyncio.ensure_future(work)
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        print("\n[cancelled]", file=sys.stderr)
        return 130


def _chosen(host: Any, args: argparse.Namespace) -> str:
    if args.provider:
        return str(host.provider(args.provider).name)
    names = [p.name for p in host.providers()]
    if len(names) != 1:
        found = ", ".join(names) or "none is installed"
        raise PluginKitError("invalid_request", f"name the provider with --provider ({found})")
    return str(names[0])


def _each(host: Any, args: argparse.Namespace) -> list[Any]:
    return [host.provider(args.provider)] if args.provider else list(host.providers())


async def cmd_list(host: Any, args: argparse.Namespace) -> int:
    providers = _each(host, args)
    if args.json:
        print(json.dumps([
            {"name": p.name, "type": p.type, "version": p.manifest.provider.version, "plugin": p.plugin_id,
             "status": str(p.status), "services": p.manifest.service_names(), "manifest": p.source}
            for p in providers
        ], indent=2))
        return 0
    rows = [
        (p.name, p.type, p.manifest.provider.version, p.plugin_id, p.status, ", ".join(p.manifest.service_names()))
        for p in providers
    ]
    print(format_table(rows, ("PROVIDER", "TYPE", "VERSION", "PLUGIN", "STATUS", "SERVICES")))
    for conflict in host.conflicts:
        print(f"conflict: plugin {conflict.rejected!r} left out: provider {conflict.name!r} is {conflict.kept!r}'s")
    for plugin_id, why in sorted(host.invalid.items()):
        print(f"invalid manifest: {plugin_id}: {why}")
    return 0


async def cmd_status(host: Any, args: argparse.Namespace) -> int:
    rows = [(p.name, p.status, int(p.status), p.reason or "-") for p in _each(host, args)]
    print(format_table(rows, ("PROVIDER", "STATUS", "CODE", "REASON")))
    return 0


async def cmd_health(host: Any, args: argparse.Namespace) -> int:
    checks = [await host.health(p.name) for p in _each(host, args)]
    rows = [(c.provider, "healthy" if c.healthy else "down", c.error or "-") for c in checks]
    print(format_table(rows, ("PROVIDER", "HEALTH", "ERROR")))
    return 0 if all(c.healthy for c in checks) else 1


async def cmd_models(host: Any, args: argparse.Namespace) -> int:
    name = _chosen(host, args)
    if args.supported or host.provider(name).type != "local":
        supported = [(m.id, m.service_name, "yes" if m.is_recommended else "") for m in host.support_model_list(name)]
        print(format_table(supported, ("MODEL", "SERVICE", "DEFAULT")))
        return 0
    running = {m.name for m in await host.running_models(name)}
    rows = [
        (m.name, _size(m.size), m.modified_at.isoformat(timespec="seconds") if m.modified_at else "-",
         "yes" if m.name in running else "")
        for m in await host.list_models(name)
    ]
    print(format_table(rows, ("MODEL", "SIZE", "MODIFIED", "RUNNING")))
    return 0


async def cmd_pull(host: Any, args: argparse.Namespace) -> int:
    name = _chosen(host, args)
    provider = host.provider(name)
    streamed = "provider_pull_model_stream" in host.manager.runtime.record(provider.plugin_id).hooks
    with _Progress(args.model) as show:
        if streamed:
            final = None
            async with await host.pull_model_stream(name, args.model) as steps:
                async for final in steps:
                    show(final)
        else:
            final = await host.pull_model(name, args.model, progress=show)
    status = final.status if final is not None else "done"
    print(f"{args.model}: {status}")
    return 0 if status in ("success", "done") else 1


async def cmd_rm(host: Any, args: argparse.Namespace) -> int:
    await host.delete_model(_chosen(host, args), args.model)
    print(f"deleted {args.model}")
    return 0


async def cmd_invoke(host: Any, args: argparse.Namespace) -> int:
    name = _chosen(host, args)
    request = sys.stdin.read() if args.request == "-" else args.request
    if not args.stream:
        sys.stdout.buffer.write(await host.invoke(name, args.service, request, auth_info=args.auth_info) + b"\n")
        return 0
    async with await host.invoke_stream(name, args.service, request, auth_info=args.auth_info) as chunks:
        async for chunk in chunks:
            sys.stdout.buffer.write(chunk.data)
            sys.stdout.flush()
    sys.stdout.write("\n")
    return 0


def _size(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)  # pragma: no cover


class _Progress:
    """A progress bar (rich) for a pull, fed with the plugin's ``ProgressResponse``\\ s; plain lines without rich."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.bar: Any = None
        self.task: Any = None
        self.last = ""

    def __enter__(self) -> Callable[[Any], None]:
        try:
            from rich.progress import (  # deferred: rich is optional (pluginkit[cli]) and slow to import
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )
        except ImportError:
            return self._plain
        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
            TimeRemainingColumn(), transient=False,
        )
        self.bar.start()
        self.task = self.bar.add_task(f"pulling {self.model}", total=None)
        return self._draw

    def _draw(self, step: Any) -> None:
        self.bar.update(
            self.task, total=step.total or None, completed=step.completed,
            description=f"{step.status or 'pulling'} {self.model}",
        )

    def _plain(self, step: Any) -> None:
        line = f"{step.status} {step.completed}/{step.total}" if step.total else step.status
        if line != self.last:
            print(line, file=sys.stderr)
            self.last = line

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
