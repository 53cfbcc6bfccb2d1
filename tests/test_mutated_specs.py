"""Robustness: a few hundred random mutations of the examples (wrong types, removed and added keys, hostile
values) each give findings or generated files, never an exception (a traceback reaching a user is a bug)."""

from __future__ import annotations

import copy
import random

import pytest
import yaml

from conftest import EXAMPLES
from generator import config, pipeline

VALUES = [None, 0, -1, 10**9, 1.5, True, False, "", "x", "[x]", "${x}", "a" * 300, [], [1], {}, {"a": 1},
          "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/A.B/c/d",
          "Standard_LRS", "Disabled", "cluster", "instance", "kubernetes", "Project", "UserAssigned"]
KEYS = ["extra", "name", "existing", "sku", "type", "scope", "subnet", "identity", "hub", "targets"]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


def _mutate(data, rng):
    data = copy.deepcopy(data)
    for _ in range(rng.randint(1, 3)):
        candidates = [p for p in _paths(data) if p]
        if not candidates:
            break
        path = rng.choice(candidates)
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        roll = rng.random()
        if roll < 0.6:
            parent[path[-1]] = copy.deepcopy(rng.choice(VALUES))
        elif roll < 0.8 and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[rng.choice(KEYS)] = copy.deepcopy(rng.choice(VALUES))
    return data


SPECS = [p for p in sorted(EXAMPLES.rglob("*.yaml"))
         if not (lambda d: d.get("base") or "extends" in d)(yaml.safe_load(p.read_text(encoding="utf-8")))]


@pytest.mark.parametrize("seed", range(4))
def test_mutated_examples_give_findings_or_files_never_an_exception(tmp_path, seed):
    rng = random.Random(seed)
    for i in range(250):
        source = rng.choice(SPECS)
        spec = tmp_path / f"m{i}.yaml"
        spec.write_text(yaml.safe_dump(_mutate(yaml.safe_load(source.read_text(encoding="utf-8")), rng)),
                        encoding="utf-8")
        result = pipeline.generate([config.SpecFile(spec, tmp_path)])  # raises on a bug
        assert result.findings or result.files, f"{source.name} mutated as {spec.read_text()}"
