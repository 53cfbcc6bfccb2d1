"""The Jinja fragments follow the house rules: one resource each, no logic, every value through its filter."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT

ARM = sorted((ROOT / "templates" / "arm").glob("*.json.jinja"))
BICEP = sorted((ROOT / "templates" / "bicep").glob("*.bicep.jinja"))
EXPRESSION = re.compile(r"{{(.*?)}}", re.S)
STATEMENT = re.compile(r"{%.*?%}", re.S)


def test_every_arm_fragment_has_a_bicep_twin():
    # `existing` is Bicep only: ARM refers to a brought resource by its ID and declares nothing
    arm = {p.name.removesuffix(".json.jinja") for p in ARM}
    assert {p.name.removesuffix(".bicep.jinja") for p in BICEP} == arm | {"existing"}


@pytest.mark.parametrize("fragment", ARM + BICEP, ids=lambda p: p.name)
def test_fragments_have_no_statements(fragment):
    """Lists and optional objects are built in Python and emitted whole: no loops, ifs or comma bookkeeping."""
    assert not STATEMENT.findall(fragment.read_text(encoding="utf-8"))


@pytest.mark.parametrize("fragment", ARM, ids=lambda p: p.name)
def test_every_arm_value_ends_in_the_arm_filter(fragment):
    for expression in EXPRESSION.findall(fragment.read_text(encoding="utf-8")):
        assert re.search(r"\|\s*arm\s*$", expression), f"{fragment.name}: {{{{{expression}}}}} bypasses the arm filter"


@pytest.mark.parametrize("fragment", BICEP, ids=lambda p: p.name)
def test_every_bicep_value_ends_in_a_bicep_filter(fragment):
    for expression in EXPRESSION.findall(fragment.read_text(encoding="utf-8")):
        assert re.search(r"\|\s*(bicep(\(\d+\))?|ident)\s*$", expression), \
            f"{fragment.name}: {{{{{expression}}}}} bypasses the Bicep filters"


@pytest.mark.parametrize("fragment", BICEP, ids=lambda p: p.name)
def test_each_bicep_fragment_declares_exactly_one_resource(fragment):
    assert len(re.findall(r"^(resource|module) ", fragment.read_text(encoding="utf-8"), re.M)) == 1


@pytest.mark.parametrize("fragment", ARM, ids=lambda p: p.name)
def test_each_arm_fragment_is_one_resource_object(fragment):
    text = fragment.read_text(encoding="utf-8")
    assert text.startswith("{\n") and text.rstrip().endswith("}")
    assert len(re.findall(r'^  "type": ', text, re.M)) == 1


def test_the_checks_above_catch_a_raw_value(tmp_path):
    """Test of the test: a fragment line without the filter is found by the same pattern."""
    line = '"name": {{ r.name }},'
    assert not all(re.search(r"\|\s*arm\s*$", e) for e in EXPRESSION.findall(line))
