"""The peer of `amlgen generate` for the speed ratio: azure-ai-ml's own workspace path, in its own process.

    python bench/peer_azure_ai_ml.py SPEC_DIR OUT_DIR

Loads every az ml workspace YAML in SPEC_DIR with `azure.ai.ml.load_workspace`, fills the ARM template and
parameters the SDK deploys a workspace with (`WorkspaceOperationsBase._populate_arm_parameters`; a scope object
stands in for the client, nothing reaches Azure), and writes both as JSON into OUT_DIR/<name>/. bench_generate.py
runs it when azure-ai-ml is installed (`pip install azure-ai-ml`; not needed by amlgen or its tests).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(spec_dir: Path, out_dir: Path) -> int:
    from azure.ai.ml import load_workspace
    from azure.ai.ml.operations._workspace_operations_base import WorkspaceOperationsBase

    class Scope:  # what the SDK reads of an OperationScope
        subscription_id = "00000000-0000-0000-0000-000000000000"
        resource_group_name = "rg-bench"
        workspace_name = None

    class Client:  # the service client is only kept, never called, on this path
        workspaces = None

    concrete = type("BenchWorkspaceOperations", (WorkspaceOperationsBase,),
                    {name: (lambda *a, **k: None) for name in WorkspaceOperationsBase.__abstractmethods__})
    ops = concrete(Scope(), Client(), None)
    count = 0
    for path in sorted(spec_dir.glob("*.yml")):
        workspace = load_workspace(source=str(path))
        template, parameters, _ = ops._populate_arm_parameters(workspace)
        folder = out_dir / workspace.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "main.json").write_text(json.dumps(template, indent=2), encoding="utf-8")
        (folder / "main.parameters.json").write_text(json.dumps(parameters, indent=2), encoding="utf-8")
        count += 1
    return 0 if count else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
