"""The plugin ABI, described once.

:data:`METHODS` lists every method of the ABI: its dotted name (verbatim from the seed ABI), its hook name, its
params and result types, the capability flag that declares it, how the answers of several plugins combine, whether
its hooks may be ``async``, and its stage in the request pipeline. The hookspecs (:mod:`pluginkit.abi._hookspecs`),
the manager's ``invoke``, the CLI's ``pluginkit methods`` and ``docs/reference/methods.md`` are all generated from
this table; tests fail when any of them drifts.

The table is made of families — the seed ABI, ``tool.*``, ``session.*`` — each a tuple of :class:`Method` in its
own module, listed once in :mod:`pluginkit.abi._families` and read the first time the table is used.
"""

from __future__ import annotations

from typing import Any

from pluginkit.abi import _families
from pluginkit.abi._table import Combine, Direction, Fallback, Method, Stage, Table, hook_name

__all__ = [
    "ABI_VERSION",
    "METHODS",
    "SCHEMA_VERSION",
    "SEED_METHODS",
    "Combine",
    "Direction",
    "Fallback",
    "Method",
    "Stage",
    "define",
    "get",
    "hook_name",
]

#: Major version of the plugin ABI this host speaks. Plugins declare the version they were written for.
ABI_VERSION = 1
#: Version of the payload schema (the seed's ``schema_version`` in ``plugin.register`` results).
SCHEMA_VERSION = 1

#: The ABI table: dotted name → :class:`Method`, every family's methods in registry order.
METHODS = Table(_families.load)


def define(name: str, params: type, result: type, combine: Combine, **details: Any) -> Method:
    """Add one method to the table, after the families: ``define(name, params, result, combine, summary=...,
    doc=..., ...)`` takes what :class:`Method` takes. Families declare theirs as data instead (see
    :mod:`pluginkit.abi._families`)."""
    return METHODS.add(Method(name, params, result, combine, **details))


def get(name: str) -> Method:
    """The table entry for ``name``; raises :class:`~pluginkit.errors.UnknownMethod`."""
    return METHODS.get_method(name)


def __getattr__(name: str) -> Any:
    if name == "SEED_METHODS":  # the seed's method names, in the seed's order (checked verbatim by a test)
        from pluginkit.abi import _seed  # deferred on purpose: it builds the seed's payload classes

        return tuple(method.name for method in _seed.METHODS)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
