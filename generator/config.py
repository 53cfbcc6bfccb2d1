"""Where the specs and the output folder are: command-line paths, or [tool.amlgen] / amlgen.toml."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from generator.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Config:
    spec_roots: tuple[Path, ...]  # folders whose layout out/ mirrors
    output: Path
    origin: Path | None  # the configuration file, if one was used
    output_label: str = "out"  # the output folder as configured or given (for generated READMEs)
    readme_base_url: str | None = None  # [tool.amlgen] readme-base-url: out/ served raw, for "Deploy to Azure"


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the amlgen configuration: {exc}") from exc


def find_config(start: Path) -> tuple[Path, dict] | None:
    """The nearest amlgen.toml, or pyproject.toml with a [tool.amlgen] table, from `start` up to the repository root."""
    for folder in (start, *start.parents):
        own = folder / "amlgen.toml"
        if own.is_file():
            return own, _read_toml(own)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            tool = _read_toml(pyproject).get("tool", {})
            table = tool.get("amlgen") if isinstance(tool, dict) else None
            if table is not None:
                if not isinstance(table, dict):
                    raise UsageError(f"{pyproject}: [tool.amlgen] must be a table, e.g. specs = [\"examples\"]")
                return pyproject, table
        if (folder / ".git").exists():
            break
    return None


def resolve(paths: tuple[str, ...], output: str | None, cwd: Path | None = None) -> tuple[Config, list[Path]]:
    """The configuration in force and the paths to read (the command line's, else the configured spec folders)."""
    cwd = cwd or Path.cwd()
    found = find_config(cwd)
    roots: tuple[Path, ...] = ()
    out_dir = None
    origin = None
    label = "out"
    base_url = None
    if found:
        origin, table = found
        base = origin.parent
        specs = table.get("specs", [])
        if isinstance(specs, str):
            specs = [specs]
        if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
            raise UsageError(f"{origin}: 'specs' must be a list of folders, e.g. specs = [\"examples\"]")
        roots = tuple((base / s).resolve() for s in specs)
        if "output" in table:
            if not isinstance(table["output"], str):
                raise UsageError(f"{origin}: 'output' must be a folder name, e.g. output = \"out\"")
            out_dir = (base / table["output"]).resolve()
            label = table["output"]
        base_url = table.get("readme-base-url")
        if base_url is not None and not (isinstance(base_url, str) and base_url.startswith("https://")):
            raise UsageError(f"{origin}: 'readme-base-url' must be an https:// URL of the output folder served raw")
    if not paths:
        if not roots:
            raise UsageError("no spec paths given and no configuration found: pass spec files or folders "
                             "(amlgen generate examples/), or add [tool.amlgen] specs = [\"examples\"] to pyproject.toml "
                             "(or an amlgen.toml at the repository root)")
        targets = list(roots)
    else:
        targets = [(cwd / p).resolve() for p in paths]
        for given, target in zip(paths, targets):
            if not target.exists():
                raise UsageError(f"{given}: no such file or folder")
    if output is not None:
        out_dir = (cwd / output).resolve()
        # Generated READMEs name the output folder as the repository configures it, so writing elsewhere
        # (-o, e.g. to compare in CI) gives the same bytes.
        if origin is None and not Path(output).is_absolute():
            label = Path(output).as_posix()
    elif out_dir is None:
        out_dir = (cwd / "out").resolve()
    return Config(roots, out_dir, origin, label, base_url), targets


@dataclass(frozen=True)
class SpecFile:
    path: Path
    root: Path  # the folder out/ mirrors for this file

    @property
    def relative(self) -> Path:
        return self.path.relative_to(self.root)

    @property
    def source(self) -> str:
        """The spec's name in generated files: its root folder's name and its path below it (no absolute paths)."""
        return (Path(self.root.name) / self.relative).as_posix()

    @property
    def out_folder(self) -> Path:
        return self.relative.with_suffix("")


def discover(targets: list[Path], config: Config) -> tuple[list[SpecFile], list[Path]]:
    """Spec files under the targets, sorted, and the folders that hold none."""
    files: list[SpecFile] = []
    empty: list[Path] = []
    for target in targets:
        if target.is_dir():
            found = sorted(p for p in target.rglob("*") if p.suffix in SPEC_SUFFIXES and p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(target).parts))
            if not found:
                empty.append(target)
            # a folder inside a configured spec folder keeps its place in the layout (specs/team -> out/team/...)
            root = next((r for r in config.spec_roots if target.is_relative_to(r)), target)
            files.extend(SpecFile(p, root) for p in found)
        else:
            if target.suffix not in SPEC_SUFFIXES:
                raise UsageError(f"{display(target)}: not a spec file (expected .yaml or .yml)")
            root = next((r for r in config.spec_roots if target.is_relative_to(r)), target.parent)
            files.append(SpecFile(target, root))
    unique = {f.path: f for f in files}
    return sorted(unique.values(), key=lambda f: (f.out_folder.as_posix(), f.path.as_posix())), empty


def display(path: Path) -> str:
    """A path as people should see it: relative to the current folder when below it."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()
