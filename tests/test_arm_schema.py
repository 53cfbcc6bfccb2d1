"""Every generated template and parameters file validates against Azure's published ARM schemas (offline)."""

from __future__ import annotations

import subprocess
import sys

from conftest import OUT, SHARED, require

CHECKER = SHARED / "tools" / "arm_schema_check.py"


def _check(*files) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECKER), "--strict-properties", *map(str, files)],
                          capture_output=True, text=True, timeout=300)


def test_templates_and_parameters_validate_against_published_arm_schemas(generated):
    require(CHECKER.is_file(), f"{CHECKER} is absent (../shared beside the repository)")
    files = (sorted(generated.rglob("main.json")) + sorted(generated.rglob("subscription.json"))
             + sorted(generated.rglob("main.parameters.json")))
    assert any(f.name == "subscription.json" for f in files), "no example shows the subscription-scope template"
    assert files
    result = _check(*files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(files)} templates, 0 errors" in result.stdout


def test_checker_catches_a_misspelled_property(tmp_path):
    """The check above can fail: a typo in a property name is an error under --strict-properties."""
    require(CHECKER.is_file(), f"{CHECKER} is absent (../shared beside the repository)")
    text = (OUT / "defaults" / "main.json").read_text(encoding="utf-8")
    broken = tmp_path / "main.json"
    broken.write_text(text.replace('"minimumTlsVersion"', '"minimumTlsVersio"', 1), encoding="utf-8")
    result = _check(broken)
    assert result.returncode == 1
    assert "minimumTlsVersio" in result.stdout


def test_a_key_vault_recovered_with_create_mode_validates(tmp_path):
    """keyVault.createMode: recover (no example sets it) is a property the published Key Vault schema knows."""
    require(CHECKER.is_file(), f"{CHECKER} is absent (../shared beside the repository)")
    import json

    from generator import model, pipeline

    files = pipeline.render_spec(model.build({"name": "churn-dev", "keyVault": {"createMode": "recover"}},
                                             "examples/t.yaml"))
    template = tmp_path / "main.json"
    template.write_text(files["main.json"], encoding="utf-8")
    assert '"createMode": "recover"' in files["main.json"]
    result = _check(template)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken" / "main.json"
    broken.parent.mkdir()
    broken.write_text(json.dumps(json.loads(files["main.json"])).replace('"recover"', '"restore"'), encoding="utf-8")
    assert _check(broken).returncode == 1  # the check can fail: Key Vault knows no createMode "restore"
