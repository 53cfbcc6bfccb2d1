"""The same spec gives the same bytes: whatever the key order in the YAML, whatever PYTHONHASHSEED."""

from __future__ import annotations

import random

import yaml

from conftest import EXAMPLES, run_cli, tree


def _shuffled(value, rng):
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


def test_shuffled_keys_and_hash_seed_give_identical_bytes(tmp_path, generated):
    specs = tmp_path / "examples"
    rng = random.Random(7)
    for spec in sorted(EXAMPLES.rglob("*.yaml")):
        data = yaml.safe_load(spec.read_text(encoding="utf-8"))
        target = specs / spec.relative_to(EXAMPLES)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(_shuffled(data, rng), sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("generate", str(specs), "-o", str(out), env={"PYTHONHASHSEED": "12345"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # The comment header is not part of the data, so only compare what the data produces.
    assert tree(out) == tree(generated)
