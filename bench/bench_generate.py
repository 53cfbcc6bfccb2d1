"""Benchmark: start-up cost of the CLI, and generating many specs in one run (ms per spec, time per stage).

Prints figures; it is not a timed test. Usage: python3 bench/bench_generate.py [N_SPECS]
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


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    py = sys.executable
    floor = wall([py, "-c", "import yaml, jinja2, jsonschema, click"])
    help_t = wall([py, "-m", "generator", "--help"])
    one = wall([py, "-m", "generator", "validate", "examples/secure.yaml"])
    print(f"start-up (median of 7): import yaml+jinja2+jsonschema+click {floor * 1000:.0f} ms; "
          f"amlgen --help {help_t * 1000:.0f} ms ({help_t / floor:.2f}x); "
          f"validate one spec {one * 1000:.0f} ms ({one / floor:.2f}x)")

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

        # the floor: parse the same YAML and write the same amount of JSON
        start = time.perf_counter()
        for f in files:
            data = yaml.load(f.path.read_text(encoding="utf-8"), Loader=load._Loader)
            (Path(tmp) / "floor.json").write_text(json.dumps(data, indent=2) * 4)
        floor_t = time.perf_counter() - start
        print(f"floor (YAML parse + JSON write of the same data): {floor_t * 1000 / count:.2f} ms per spec")


if __name__ == "__main__":
    main()
