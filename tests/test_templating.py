"""Fragments are compiled once with placeholders (generator.templating.fragment); each resource's values are then
read and filtered the way a Jinja render would: these tests hold the compiled path to the same rules."""

from __future__ import annotations

import json

import jinja2
import pytest

from generator.arm import render as arm_render
from generator.arm.expressions import ArmExpressions
from generator.bicep import render as bicep_render
from generator.errors import RenderError
from generator.expressions import Param
from generator.plan import Resource


def _with_fragment(monkeypatch, module, text: str):
    """The renderer's environment with one more fragment, kind 'probe' (an overlay: compiled afresh)."""
    env = module._ENV.overlay(loader=jinja2.DictLoader({"probe.json.jinja": text, "probe.bicep.jinja": text}))
    monkeypatch.setattr(module, "_ENV", env)


def _resource(**values) -> Resource:
    return Resource("probe", "probe", "Microsoft.Test/probes", values.pop("name", "p1"), values)


def _arm(resource: Resource) -> dict:
    return arm_render.render_resource(resource, ArmExpressions([resource]))


ARM_PROBE = '{"type": {{ r.type | arm }}, "name": {{ r.name | arm }}, "sku": {{ v.sku | arm }}, "fixed": [1, null]}'


def test_one_compiled_arm_fragment_renders_each_resource_with_its_own_values(monkeypatch):
    _with_fragment(monkeypatch, arm_render, ARM_PROBE)
    first = _arm(_resource(name="a", sku={"name": "[x]", "tier": None}))
    second = _arm(_resource(name="b", sku=Param("sku")))
    assert first == {"type": "Microsoft.Test/probes", "name": "a", "sku": {"name": "[[x]"}, "fixed": [1, None]}
    assert second == {"type": "Microsoft.Test/probes", "name": "b", "sku": "[parameters('sku')]", "fixed": [1, None]}
    first["fixed"].append(2)  # each render is a fresh copy: changing one changes no other
    assert _arm(_resource(sku=None)) == {"type": "Microsoft.Test/probes", "name": "p1", "fixed": [1, None]}


@pytest.mark.parametrize("text, message", [
    ('{"sku": {{ v.sku }}}', "'v.sku' is used other than through a filter"),
    ('{"sku": {{ v.missing | arm }}}', "'dict object' has no attribute 'missing'"),
    ('{"sku": "x{{ v.sku | arm }}"}', "rendered invalid JSON"),
    ('{"sku": {{ v.sku | arm }}', "rendered invalid JSON"),
    ('{"sku": {{ v.sku | arm(2) }}}', "the arm filter takes no arguments"),
    ('{"sku": {{ v.sku | arm(x=2) }}}', "the arm filter takes its arguments by position"),
])
def test_a_broken_arm_fragment_is_a_render_error_naming_it(monkeypatch, text, message):
    _with_fragment(monkeypatch, arm_render, text)
    with pytest.raises(RenderError, match="^templates/arm/probe.json.jinja") as caught:
        _arm(_resource(sku="S1"))
    assert message in str(caught.value)


def test_a_compiled_bicep_fragment_filters_each_value_and_drops_unset_lines(monkeypatch):
    _with_fragment(monkeypatch, bicep_render, "resource {{ r.symbol | ident }} 'x' = {\n  name: {{ r.name | bicep }}\n"
                                              "  sku: {{ v.sku | bicep(2) }}\n  tier: {{ v.tier | bicep }}\n}\n")
    text = bicep_render.render_resource(_resource(name="it's ${x}", sku={"name": "S1"}, tier=None))
    assert text == "resource probe 'x' = {\n  name: 'it\\'s \\u{24}{x}'\n  sku: {\n    name: 'S1'\n  }\n}\n"


def test_a_bicep_value_outside_a_filter_is_a_render_error(monkeypatch):
    _with_fragment(monkeypatch, bicep_render, "name: {{ r.name }}\n")
    with pytest.raises(RenderError, match="^templates/bicep/probe.bicep.jinja: 'r.name' is used other than"):
        bicep_render.render_resource(_resource())


def test_generated_json_is_what_json_dumps_writes():
    """arm.render.dumps writes the bytes json.dumps(indent=2, ensure_ascii=False) does, for every JSON type."""
    data = {"a": [1, {"b": None, "c": True, "d": "é\n\"\u2028<>&'"}], "e": {}, "f": [], "g": -3, "h": 1.5,
            "i": False, "j": [[[]]], "k": {"1": {"2": "x"}}, "l": (1, 2), 4: "non-text key"}
    assert arm_render.dumps(data) == json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    assert arm_render.dumps({"only": "text"}) == json.dumps({"only": "text"}, indent=2) + "\n"
