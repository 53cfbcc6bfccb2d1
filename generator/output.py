"""Write generated files into the output folder atomically, or compare them with it (--check) as a unified diff."""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from generator.arm.render import GENERATED_BY

# The files amlgen owns in an output folder: only these are compared, reported stale, or pruned. Bicep
# modules (nested deployments, e.g. private endpoints in the network's resource group) sit in modules/*.bicep.
OWNED_NAMES = ("main.json", "main.parameters.json", "main.bicep", "main.bicepparam", "README.md",
               "subscription.json", "subscription.bicep")
MODULES = "modules"


@dataclass
class Comparison:
    changed: list[str] = field(default_factory=list)  # differ from what the specs generate
    missing: list[str] = field(default_factory=list)  # generated, absent on disk
    stale: list[str] = field(default_factory=list)  # on disk, no spec generates them any more
    diff: str = ""

    @property
    def clean(self) -> bool:
        return not (self.changed or self.missing or self.stale)


def _generated_folder(folder: Path) -> bool:
    """A folder amlgen wrote: its main.json says so. Only there are files amlgen's to report stale or delete."""
    try:
        text = (folder / "main.json").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return GENERATED_BY in text[:2000]


def owned_files(out_dir: Path) -> list[str]:
    if not out_dir.is_dir():
        return []
    folders = {p.parent for p in out_dir.rglob("main.json") if _generated_folder(p.parent)}
    owned = {p for folder in folders for p in folder.iterdir() if p.is_file() and p.name in OWNED_NAMES}
    owned |= {p for folder in folders if (folder / MODULES).is_dir() for p in (folder / MODULES).iterdir()
              if p.is_file() and p.suffix == ".bicep"}
    return sorted(p.relative_to(out_dir).as_posix() for p in owned)


def _read(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def compare(files: dict[str, str], out_dir: Path, label: str) -> Comparison:
    result = Comparison()
    chunks: list[str] = []
    for rel in sorted(files):
        current = _read(out_dir / rel)
        if current == files[rel]:
            continue
        (result.missing if current is None else result.changed).append(rel)
        chunks.extend(difflib.unified_diff((current or "").splitlines(keepends=True),
                                           files[rel].splitlines(keepends=True),
                                           f"a/{label}/{rel}", f"b/{label}/{rel}"))
    for rel in owned_files(out_dir):
        if rel not in files:
            result.stale.append(rel)
            chunks.extend(difflib.unified_diff((_read(out_dir / rel) or "").splitlines(keepends=True), [],
                                               f"a/{label}/{rel}", "/dev/null"))
    result.diff = "".join(c if c.endswith("\n") else c + "\n\\ No newline at end of file\n" for c in chunks)
    return result


def write_atomic(path: Path, text: str) -> bool:
    """Replace `path` with `text` in one step (a killed run leaves the old file or the new one). False if unchanged."""
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600: give the file the mode the old one had, else what open() would give it
        try:
            mode = path.stat().st_mode & 0o777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        # os.replace is atomic: a killed run leaves the old file or the new one. No fsync: it would cost more
        # than rendering (measured with bench/bench_generate.py), and out/ is regenerated from the specs anyway.
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return True


def write_all(files: dict[str, str], out_dir: Path) -> list[str]:
    """Write every file; return the ones that changed."""
    return [rel for rel in sorted(files) if write_atomic(out_dir / rel, files[rel])]


def prune(stale: list[str], out_dir: Path) -> None:
    for rel in stale:
        path = out_dir / rel
        path.unlink(missing_ok=True)
        folder = path.parent
        while folder != out_dir and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
