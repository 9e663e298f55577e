"""The family registry: which modules contribute methods to the ABI table.

Adding a family is one line here. Each module named holds ``METHODS``, a tuple of
:class:`~pluginkit.abi.Method` (its own dotted names, params and result types, rule, capability, time limit);
the table reads them, in this order, the first time it is used. Families are named rather than imported: a
family's package sits above the runtime (it calls plugins through it), while the table sits below; reading the
names when the table is first used keeps every import pointing downward.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import attrs

from pluginkit.abi._table import Method, Table

__all__ = ["FAMILIES", "load"]

#: Modules whose ``METHODS`` make up the ABI, in table order: the seed ABI first.
FAMILIES = (
    "pluginkit.abi._seed",
    "pluginkit.tools._methods",
    "pluginkit.sessions._methods",
    "pluginkit.messages._methods",
    "pluginkit.providers._methods",
)


def load(table: Table) -> Iterator[Method]:
    """Every family's methods, each checked against the capability flags a registration can declare."""
    # Deferred on purpose: the payload classes load with the first read of the table, not with ``import``.
    from pluginkit.types import Capabilities

    flags = attrs.fields_dict(Capabilities)  # type: ignore[arg-type]
    for name in FAMILIES:
        methods: tuple[Method, ...] = importlib.import_module(name).METHODS
        for method in methods:
            if method.capability is not None and method.capability not in flags:
                raise ValueError(f"{method.name}: unknown capability {method.capability!r} (family {name})")
            yield method
