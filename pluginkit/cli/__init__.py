"""The ``pluginkit`` command: its parser, its commands, the demo and the reference-doc generator."""

from pluginkit.cli._commands import main

__all__ = ["main"]
