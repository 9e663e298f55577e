"""Every ABI family follows one recipe: a module whose ``METHODS`` is a tuple of ``abi.Method``, listed once in the
family registry; the table is those tuples, in registry order, checked as they are read."""

from __future__ import annotations

import importlib
import sys
import types

import pytest

from pluginkit import abi
from pluginkit import types as t
from pluginkit.abi import _families
from pluginkit.abi._table import Table


def test_the_table_is_every_family_in_registry_order() -> None:
    expected = [m.name for name in _families.FAMILIES for m in importlib.import_module(name).METHODS]
    assert list(abi.METHODS)[: len(expected)] == expected  # methods added later (abi.define) come after


@pytest.mark.parametrize("family", _families.FAMILIES)
def test_each_family_is_a_tuple_of_methods(family: str) -> None:
    methods = importlib.import_module(family).METHODS
    assert isinstance(methods, tuple) and methods
    assert all(isinstance(m, abi.Method) for m in methods)
    assert len({m.name for m in methods}) == len(methods)


def test_the_seed_family_comes_first_in_the_seeds_order() -> None:
    assert list(abi.METHODS)[: len(abi.SEED_METHODS)] == list(abi.SEED_METHODS)
    assert _families.FAMILIES[0] == "pluginkit.abi._seed"


def test_a_method_takes_its_rule_defaults() -> None:
    chain = abi.Method("x.chain", t.BodyResult, t.BodyResult, abi.Combine.CHAIN, summary="", doc="  indented\n")
    owner = abi.Method("x.owner", t.Empty, t.Empty, abi.Combine.SINGLE_OWNER, summary="", doc="")
    fan = abi.Method("x.fan", t.Empty, t.Empty, abi.Combine.FAN_OUT, summary="", doc="")
    assert (chain.fallback, chain.owner, chain.doc) == (abi.Fallback.PASS_THROUGH, "", "indented")
    assert (owner.fallback, owner.owner) == (abi.Fallback.ERROR, "priority")
    assert (fan.fallback, fan.timeout, fan.may_be_async) == (abi.Fallback.ZERO, 30.0, True)


def test_a_table_reads_its_families_once_and_checks_them() -> None:
    reads: list[int] = []

    def family(table: Table) -> list[abi.Method]:
        reads.append(1)
        return [abi.Method("demo.one", t.Empty, t.Empty, abi.Combine.FAN_OUT, summary="", doc="")]

    table = Table(family)
    assert reads == []  # nothing read until the table is used
    assert list(table) == ["demo.one"] and len(table) == 1 and table.by_hook("demo_one") is not None
    assert reads == [1]
    with pytest.raises(ValueError, match="already defined"):
        table.add(abi.Method("demo.one", t.Empty, t.Empty, abi.Combine.FAN_OUT, summary="", doc=""))


def test_a_broken_family_fails_every_read_instead_of_leaving_half_a_table() -> None:
    def broken(table: Table) -> list[abi.Method]:
        return [abi.Method("demo.ok", t.Empty, t.Empty, abi.Combine.FAN_OUT, summary="", doc=""),
                abi.Method("Bad Name", t.Empty, t.Empty, abi.Combine.FAN_OUT, summary="", doc="")]

    table = Table(broken)
    for _ in range(2):
        with pytest.raises(ValueError, match="dotted lower-case"):
            len(table)


def test_an_unknown_capability_names_its_family(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("pluginkit_test_family")
    module.METHODS = (  # type: ignore[attr-defined]
        abi.Method("demo.flagged", t.Empty, t.Empty, abi.Combine.FAN_OUT, summary="", doc="", capability="nope"),
    )
    monkeypatch.setitem(sys.modules, "pluginkit_test_family", module)
    monkeypatch.setattr(_families, "FAMILIES", ("pluginkit_test_family",))
    with pytest.raises(ValueError, match="unknown capability 'nope' \\(family pluginkit_test_family\\)"):
        len(Table(_families.load))
