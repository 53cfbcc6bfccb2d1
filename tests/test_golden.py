"""out/ is the golden record: generating every example afresh gives it byte for byte."""

from __future__ import annotations

import difflib

from conftest import OUT, run_cli, tree


def test_generated_examples_match_committed_out(generated):
    expected, actual = tree(OUT), tree(generated)
    assert sorted(actual) == sorted(expected), (
        "files differ: run `amlgen generate` and commit out/\n"
        f"only in out/: {sorted(set(expected) - set(actual))}\nonly generated: {sorted(set(actual) - set(expected))}")
    diffs = []
    for rel in sorted(expected):
        if expected[rel] != actual[rel]:
            diffs.extend(difflib.unified_diff(expected[rel].splitlines(True), actual[rel].splitlines(True),
                                              f"out/{rel}", f"generated/{rel}"))
    assert not diffs, "out/ is stale; run `amlgen generate` and review:\n" + "".join(diffs)


def test_every_example_has_an_output_folder(generated):
    import yaml

    from conftest import EXAMPLES
    from generator.spec.extends import is_base
    for spec in sorted(EXAMPLES.rglob("*.yaml")):
        folder = spec.relative_to(EXAMPLES).with_suffix("")
        if is_base(yaml.safe_load(spec.read_text(encoding="utf-8"))):  # only there to be extended
            assert not (generated / folder).exists(), f"{spec.name} is a base but produced {folder}/"
            continue
        assert (generated / folder / "main.json").is_file(), f"{spec.name} produced no main.json"
        assert (generated / folder / "main.parameters.json").is_file()


def test_check_passes_on_committed_out():
    result = run_cli("generate", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
