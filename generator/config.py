"""Where the specs and the output folder are: command-line paths, or [tool.amlgen] / amlgen.toml."""

from __future__ import annotations

import difflib
import errno
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from generator.errors import UsageError
from generator.readfile import Unreadable, read_regular, resolved, why

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
    # The project root (the folder of the configuration, else the current folder) that `extends:` targets and
    # spec files found in folders must stay inside, symbolic links resolved; None with --allow-outside.
    project: Path | None = None


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(read_regular(path).decode("utf-8"))
    except (Unreadable, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the amlgen configuration: {exc}") from exc


def _present(path: Path) -> bool:
    """Whether a configuration file is there to read: a missing one is not; one that is there but cannot be
    looked at (a symbolic link loop or a broken link, a folder without permission) is a usage error rather than
    a configuration silently ignored."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR) and not path.is_symlink():
            return False
        raise UsageError(f"{path}: cannot read the amlgen configuration: {why(exc)}") from exc
    return True


KNOWN_KEYS = ("specs", "output", "readme-base-url")  # [tool.amlgen] / amlgen.toml


def _known_keys(origin: Path, table: dict) -> dict:
    """The table, when every key is one amlgen reads: a misspelt key would otherwise be ignored without a word."""
    for key in table:
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise UsageError(f"{origin}: unknown amlgen setting '{key}'{hint} (amlgen reads: {', '.join(KNOWN_KEYS)})")
    return table


def find_config(start: Path) -> tuple[Path, dict] | None:
    """The nearest amlgen.toml, or pyproject.toml with a [tool.amlgen] table, from `start` up to the repository root."""
    for folder in (start, *start.parents):
        own = folder / "amlgen.toml"
        if _present(own):
            return own, _known_keys(own, _read_toml(own))
        pyproject = folder / "pyproject.toml"
        if _present(pyproject):
            tool = _read_toml(pyproject).get("tool", {})
            table = tool.get("amlgen") if isinstance(tool, dict) else None
            if table is not None:
                if not isinstance(table, dict):
                    raise UsageError(f"{pyproject}: [tool.amlgen] must be a table, e.g. specs = [\"examples\"]")
                return pyproject, _known_keys(pyproject, table)
        if (folder / ".git").exists():
            break
    return None


ALLOW_OUTSIDE = "--allow-outside"


def require_path(value: str | None, option: str) -> None:
    """An empty path option is a usage error: `-o ''` must not quietly mean the current folder."""
    if value is not None and not value.strip():
        raise UsageError(f"{option} '{value}': an empty path; name a file or folder ('.' for the current folder)")


def _real(path: Path, what: str) -> Path:
    try:
        return resolved(path)
    except Unreadable as exc:
        raise UsageError(f"{what}: {exc}") from exc


def _inside(origin: Path, key: str, value: str, base: Path, project: Path | None) -> Path:
    """A configured path, resolved; outside the project root it is a usage error unless --allow-outside."""
    if not value.strip():
        raise UsageError(f"{origin}: {key} = \"{value}\" is an empty path; write \".\" for the project folder")
    path = _real(base / value, f"{origin}: {key} '{value}'")
    if project is not None and not path.is_relative_to(project):
        raise UsageError(f"{origin}: {key} '{value}' is outside the project root {project} (it resolves to {path}); "
                         f"keep it inside the project, or pass {ALLOW_OUTSIDE} if that is what you mean")
    return path


def resolve(paths: tuple[str, ...], output: str | None, cwd: Path | None = None,
            allow_outside: bool = False) -> tuple[Config, list[Path]]:
    """The configuration in force and the paths to read (the command line's, else the configured spec folders).

    Configured paths (specs, output) must stay inside the project root unless `allow_outside`; paths given on
    the command line are the user's choice.
    """
    cwd = cwd or Path.cwd()
    for given in paths:
        require_path(given, "spec path")
    require_path(output, "-o/--output")
    found = find_config(cwd)
    roots: tuple[Path, ...] = ()
    out_dir = None
    origin = None
    label = "out"
    base_url = None
    project = _real(found[0].parent if found else cwd, "the project folder")
    confine = None if allow_outside else project
    if found:
        origin, table = found
        base = origin.parent
        specs = table.get("specs", [])
        if isinstance(specs, str):
            specs = [specs]
        if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
            raise UsageError(f"{origin}: 'specs' must be a list of folders, e.g. specs = [\"examples\"]")
        roots = tuple(_inside(origin, "specs", s, base, confine) for s in specs)
        if "output" in table:
            if not isinstance(table["output"], str):
                raise UsageError(f"{origin}: 'output' must be a folder name, e.g. output = \"out\"")
            out_dir = _inside(origin, "output", table["output"], base, confine)
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
        targets = []
        for given in paths:
            try:
                target = resolved(cwd / given)
            except Unreadable:  # a symbolic link loop: reading it reports it, as a finding on the file
                target = Path(os.path.abspath(cwd / given))
            else:
                if not target.exists():
                    raise UsageError(f"{given}: no such file or folder")
            targets.append(target)
    if output is not None:
        out_dir = _real(cwd / output, output)
        # Generated READMEs name the output folder as the repository configures it, so writing elsewhere
        # (-o, e.g. to compare in CI) gives the same bytes.
        if origin is None and not Path(output).is_absolute():
            label = Path(output).as_posix()
    elif out_dir is None:
        out_dir = (cwd / "out").resolve()
    return Config(roots, out_dir, origin, label, base_url, confine), targets


@dataclass(frozen=True)
class SpecFile:
    path: Path
    root: Path  # the folder out/ mirrors for this file
    # the folder `extends:` targets must stay inside (the project root, or the folder given on the command line
    # for a spec outside the project); None: anywhere (--allow-outside, or a caller of the API that did not say)
    within: Path | None = None
    # (rule, message) for an entry of a spec folder that cannot be read as a spec at all (a folder that cannot
    # be listed, a linked folder, a link out of the project): validation reports it instead of reading it
    problem: tuple[str, str] | None = None

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


_LINKED_FOLDER_SCAN = 10_000  # entries looked at to tell whether a linked folder holds specs


def _walk(folder: Path, found: list[Path], problems: list[tuple[Path, str, str]]) -> None:
    """Every entry below `folder` whose name ends in .yaml / .yml, whatever it is (a FIFO or a broken link is
    reported when it is read, not skipped), except below hidden names; what cannot be looked into goes to
    `problems`, so no spec is skipped without a word (a silently skipped spec would also be pruned)."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        problems.append((folder, "L021", f"cannot list the folder: {why(exc)}; the specs in it would be skipped"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                _walk(path, found, problems)
                continue
            linked_folder = entry.is_symlink() and entry.is_dir()
        except OSError:  # a link loop: not a folder; when its name says spec, reading it reports the loop
            linked_folder = False
        if linked_folder:
            scan = (p for _, p in zip(range(_LINKED_FOLDER_SCAN), path.rglob("*")))
            if any(p.suffix in SPEC_SUFFIXES for p in scan):
                problems.append((path, "L021", "a symbolic link to a folder of specs: amlgen does not follow linked "
                                               "folders inside a spec folder, so its specs would be skipped; pass "
                                               "the linked folder on the command line, or move the specs here"))
        elif path.suffix in SPEC_SUFFIXES:
            found.append(path)


def _outside(path: Path, within: Path | None) -> str | None:
    """Why a spec file found in a folder may not be read: it links out of the folder it must stay in."""
    if within is None:
        return None
    try:
        real = resolved(path)
    except Unreadable:  # a loop: reading the file reports it
        return None
    if real.is_relative_to(within):
        return None
    return (f"a symbolic link to {real}, outside the project root {within}: spec files found in a folder are read "
            f"only inside the project; pass the file on the command line, or {ALLOW_OUTSIDE}")


def discover(targets: list[Path], config: Config) -> tuple[list[SpecFile], list[Path]]:
    """Spec files under the targets, sorted, and the folders that hold none. Entries that cannot be read as
    specs come back as SpecFiles with a `problem`, for validation to report."""
    files: list[SpecFile] = []
    empty: list[Path] = []

    def within(path: Path, root: Path) -> Path | None:
        if config.project is None:
            return None
        return config.project if path.is_relative_to(config.project) else root

    for target in targets:
        if target.is_dir():
            found: list[Path] = []
            problems: list[tuple[Path, str, str]] = []
            _walk(target, found, problems)
            if not found and not problems:
                empty.append(target)
            # a folder inside a configured spec folder keeps its place in the layout (specs/team -> out/team/...)
            root = next((r for r in config.spec_roots if target.is_relative_to(r)), target)
            for p in found:
                fence = within(p, root)
                why_not = _outside(p, fence)
                files.append(SpecFile(p, root, fence, ("L020", why_not) if why_not else None))
            # (the target itself, when it cannot be listed, is named below its parent: out_folder needs a name)
            files.extend(SpecFile(p, root if p != root else p.parent, within(p, root), (rule, message))
                         for p, rule, message in problems)
        else:
            if target.suffix not in SPEC_SUFFIXES:
                raise UsageError(f"{display(target)}: not a spec file (expected .yaml or .yml)")
            root = next((r for r in config.spec_roots if target.is_relative_to(r)), target.parent)
            files.append(SpecFile(target, root, within(target, root)))
    unique = {f.path: f for f in files}
    return sorted(unique.values(), key=lambda f: (f.out_folder.as_posix(), f.path.as_posix())), empty


def display(path: Path) -> str:
    """A path as people should see it: relative to the current folder when below it."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()
