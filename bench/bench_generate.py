"""Benchmark: start-up cost of the CLI, and generating many specs in one run (ms per spec, time per stage).

Prints figures and the ratios the project holds itself to; it is not a timed test.

    python3 bench/bench_generate.py [N_SPECS]

Ratios (side by side on the same machine):
- `amlgen validate` of one spec / `python -c "import yaml, jsonschema, click"` (target at most 1.5)
- `amlgen --help` / the same floor (target at most 1.2)
- `amlgen generate` of 200 copies of examples/defaults.yaml, whole process / azure-ai-ml's workspace path on 200
  equivalent az ml YAMLs, whole process (bench/peer_azure_ai_ml.py; target at most 0.35). Measured when
  azure-ai-ml imports in this python or in $AMLGEN_PEER_PYTHON.
- generating N_SPECS specs in process / YAML parse + JSON write of the same files (target at most 2)
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


# As on a user's machine: bytecode caches are written (this workplace sets PYTHONDONTWRITEBYTECODE, which makes
# every start-up recompile amlgen's modules), and one warm-up run fills them.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(cmd: list[str], runs: int = 7) -> float:
    subprocess.run(cmd, cwd=ROOT, capture_output=True, check=False, env=ENV)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, capture_output=True, check=False, env=ENV)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_specs(folder: Path, count: int) -> None:
    sources = [p for p in sorted((ROOT / "examples").rglob("*.yaml"))
               if "extends" not in (d := yaml.safe_load(p.read_text(encoding="utf-8"))) and not d.get("base")]
    for i in range(count):
        data = yaml.safe_load(sources[i % len(sources)].read_text(encoding="utf-8"))
        data["name"] = f"{data['name'][:24]}-{i:04d}"
        (folder / f"spec{i:04d}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")


def _peer_python() -> str | None:
    """A python that imports azure-ai-ml: this one, or $AMLGEN_PEER_PYTHON."""
    for candidate in (sys.executable, os.environ.get("AMLGEN_PEER_PYTHON")):
        if candidate and subprocess.run([candidate, "-c", "import azure.ai.ml"], capture_output=True).returncode == 0:
            return candidate
    return None


def peer_ratio(runs: int = 3) -> None:
    """amlgen generate vs azure-ai-ml's workspace path: 200 workspaces, whole processes."""
    peer = _peer_python()
    defaults = yaml.safe_load((ROOT / "examples" / "defaults.yaml").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        specs, ymls = Path(tmp) / "specs", Path(tmp) / "azml"
        specs.mkdir()
        ymls.mkdir()
        for i in range(200):
            name = f"{defaults['name']}-{i:03d}"
            (specs / f"ws{i:03d}.yaml").write_text(yaml.safe_dump(dict(defaults, name=name)), encoding="utf-8")
            (ymls / f"ws{i:03d}.yml").write_text(yaml.safe_dump({"name": name, "location": "westeurope"}),
                                                 encoding="utf-8")
        ours = wall([sys.executable, "-m", "generator", "generate", str(specs), "-o", str(Path(tmp) / "out")], runs)
        if peer is None:
            print(f"200 specs, whole process: amlgen generate {ours:.2f} s; azure-ai-ml not installed (pip install "
                  "azure-ai-ml, or set AMLGEN_PEER_PYTHON): no peer ratio")
            return
        theirs = wall([peer, str(ROOT / "bench" / "peer_azure_ai_ml.py"), str(ymls), str(Path(tmp) / "peer")], runs)
        print(f"200 specs, whole process (median of {runs}): amlgen generate {ours:.2f} s, azure-ai-ml "
              f"load_workspace + _populate_arm_parameters {theirs:.2f} s: ratio {ours / theirs:.2f} (target <= 0.35)")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    py = sys.executable
    floor = wall([py, "-c", "import yaml, jsonschema, click"])
    help_t = wall([py, "-m", "generator", "--help"])
    one = wall([py, "-m", "generator", "validate", "examples/secure.yaml"])
    print(f"start-up (median of 7): import yaml+jsonschema+click {floor * 1000:.0f} ms; "
          f"amlgen --help {help_t * 1000:.0f} ms (ratio {help_t / floor:.2f}, target <= 1.2); "
          f"validate one spec {one * 1000:.0f} ms (ratio {one / floor:.2f}, target <= 1.5)")
    peer_ratio()

    from generator import config, output, pipeline
    from generator.spec import load

    with tempfile.TemporaryDirectory() as tmp:
        specs, out = Path(tmp) / "specs", Path(tmp) / "out"
        specs.mkdir()
        make_specs(specs, count)
        cfg = config.Config((specs,), out, None)
        files, _ = config.discover([specs], cfg)

        start = time.perf_counter()
        profile = cProfile.Profile()
        profile.enable()
        result = pipeline.generate(files)
        output.write_all(result.files, out)
        profile.disable()
        total = time.perf_counter() - start
        assert result.ok, result.findings[:3]

        stats = pstats.Stats(profile)
        def cumulative(func_name: str, module_part: str) -> float:
            return sum(v[3] for k, v in stats.stats.items() if k[2] == func_name and module_part in k[0])
        prof_total = cumulative("generate", "pipeline.py") + cumulative("write_all", "output.py")
        shares = {
            "YAML load": cumulative("load_file", "load.py"),
            "schema validation": cumulative("check", "schema.py"),
            "semantic rules": cumulative("check", "rules.py"),
            "render ARM+Bicep": cumulative("render_spec", "pipeline.py"),
            "write": cumulative("write_all", "output.py"),
        }
        print(f"generate {count} specs ({len(result.files)} files): {total * 1000 / count:.2f} ms per spec "
              f"(wall, with profiling: {total:.2f} s)")
        for name, seconds in shares.items():
            print(f"  {name:<18} {100 * seconds / prof_total:5.1f} %")

        # without the profiler, the honest figure
        for f in out.rglob("*"):
            if f.is_file():
                f.unlink()
        start = time.perf_counter()
        result = pipeline.generate(files)
        output.write_all(result.files, out)
        plain = time.perf_counter() - start
        print(f"generate {count} specs without profiler: {plain * 1000 / count:.2f} ms per spec")

        # The floor, as issue 14 defines it: parse the same YAML and write the same files (each generated JSON
        # file written with json.dump from its data, the other files as their text) into a fresh folder, plainly:
        # no staging and renaming, which amlgen's all-or-nothing writes add.
        prepared = [(rel, json.loads(text) if rel.endswith(".json") else text) for rel, text in result.files.items()]
        floor_out = Path(tmp) / "floor"
        start = time.perf_counter()
        for f in files:
            yaml.load(f.path.read_text(encoding="utf-8"), Loader=load._Loader)
        for rel, content in prepared:
            path = floor_out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8") as stream:
                if isinstance(content, str):
                    stream.write(content)
                else:
                    json.dump(content, stream, indent=2, ensure_ascii=False)
        floor_t = time.perf_counter() - start
        print(f"floor (YAML parse + write of the same {len(prepared)} files): {floor_t * 1000 / count:.2f} ms per "
              f"spec; ratio {plain / floor_t:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
