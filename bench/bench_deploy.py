"""Time deployments through the real Azure SDK clients against the loopback ARM stand-in.

Prints the time of one deploy (no added latency), then 8 targets at parallel 1 and at parallel 8 with 0.5 s of
stand-in latency per ARM operation (each REST call: preflight, create, poll, final GET). Nothing leaves
127.0.0.1.

    python bench/bench_deploy.py [--latency 0.5] [--targets 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from generator import deploy  # noqa: E402
from tests.armstandin import ArmStandIn  # noqa: E402
from tests.deploy_fixtures import SUBSCRIPTION, FakeCredential  # noqa: E402

RESOURCE_GROUP = "rg-bench"

def _generated() -> list[tuple[str, dict, dict, str]]:
    """The bundled examples, generated in memory exactly as `amlgen generate` would write them."""
    import json

    from generator import config, pipeline

    cfg, targets = config.resolve((), None, REPO)
    spec_files, empty = config.discover(targets, cfg)
    result = pipeline.generate(spec_files, empty)
    assert result.ok, result.findings
    out = []
    for item in result.checked:
        folder = item.spec_file.out_folder.as_posix()
        out.append((folder, json.loads(result.files[f"{folder}/main.json"]),
                    json.loads(result.files[f"{folder}/main.parameters.json"]), item.spec.name))
    return out


EXAMPLES = _generated()


def target(index: int) -> deploy.DeployTarget:
    """The index-th deployment: the bundled examples in turn, each under its own workspace name."""
    folder, template, parameters, name = EXAMPLES[index % len(EXAMPLES)]
    return deploy.DeployTarget(f"examples/{folder}.yaml", template, parameters, RESOURCE_GROUP,
                               f"{name[:24]}-{index}", "westeurope")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.5, help="stand-in seconds per ARM operation")
    parser.add_argument("--targets", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, ArmStandIn() as server:
        ca_path = str(Path(tmp) / "ca.pem")
        server.ca.cert_pem.write_to_path(ca_path)
        server.groups[(SUBSCRIPTION, RESOURCE_GROUP.lower())] = {"name": RESOURCE_GROUP, "location": "westeurope"}
        conn = deploy.connect(SUBSCRIPTION, credential=FakeCredential(), arm_endpoint=server.url,
                              connection_verify=ca_path)
        options = {"polling_interval": 0.01}

        deploy.deploy(target(999), conn, **options)  # warm-up: imports, TLS session, connection pool
        before = len(server.requests)
        began = time.perf_counter()
        deploy.deploy(target(0), conn, **options)
        one = time.perf_counter() - began
        calls = len(server.requests) - before
        print(f"one deploy ({EXAMPLES[0][0]}), no added latency: {one * 1000:7.1f} ms  ({calls} ARM calls: "
              f"{', '.join(r.method for r in server.requests[before:])})")

        server.latency = args.latency
        began = time.perf_counter()
        deploy.deploy(target(1), conn, **options)
        one_slow = time.perf_counter() - began
        print(f"one deploy, {args.latency} s per operation:            {one_slow:7.2f} s")

        timings = {}
        for parallel in (1, args.targets):
            batch = [target(100 * parallel + i) for i in range(args.targets)]
            began = time.perf_counter()
            results = deploy.deploy_many(batch, conn, parallel=parallel, **options)
            timings[parallel] = time.perf_counter() - began
            assert all(r.ok for r in results), [r.error for r in results if not r.ok]
            print(f"{args.targets} targets at parallel {parallel}, {args.latency} s per operation: "
                  f"{timings[parallel]:7.2f} s")
        print(f"speed-up parallel {args.targets} vs 1: {timings[1] / timings[args.targets]:.1f}x")


if __name__ == "__main__":
    main()
