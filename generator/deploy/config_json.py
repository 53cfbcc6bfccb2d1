"""config.json: how MLClient.from_config() and `az ml` find the workspace amlgen deployed."""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_config(path: str | os.PathLike, subscription: str, resource_group: str, workspace_name: str) -> Path:
    """Write the config.json that MLClient.from_config() and `az ml` read to find a workspace."""
    from generator.output import write_atomic

    target = Path(path)
    if target.is_dir():
        target = target / "config.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"subscription_id": subscription, "resource_group": resource_group,
                       "workspace_name": workspace_name}, indent=2) + "\n"
    write_atomic(target, text)
    return target
