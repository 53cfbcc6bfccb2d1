"""The `diff` command: what a change does to Azure, between two generated trees or a git ref and the working tree.

cli.py adds it lazily through `register(group)`. `--base REF` reads the YAML files at REF with `git ls-tree` and one
`git cat-file --batch` (no checkout, the working tree is never touched), generates both sides in memory with the current
generator, and compares them; a second section compares the output folder with what the working-tree specs generate.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import click

from generator import config, diff, output, pipeline, report
from generator.cli_options import allow_outside, allowed_outside
from generator.errors import AmlgenError, UsageError
from generator.findings import format_text, has_errors

FORMATS = click.Choice(sorted(report.RENDERERS))
WORKING_TREE = "working tree"
_BLOB_MODES = ("100644", "100755")  # regular files; symbolic links and submodules are not specs


def _git(args: list[str], cwd: Path, what: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise UsageError("git is not installed (or not on PATH): --base needs it") from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"{what}: {detail[-1] if detail else f'git {args[0]} failed'}")
    return done.stdout


def repository_root(cwd: Path) -> Path:
    try:
        done = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise UsageError("git is not installed (or not on PATH): --base needs it") from exc
    if done.returncode != 0:
        raise UsageError(f"{cwd} is not inside a git repository: --base needs one "
                         "(or compare two generated folders: amlgen diff OLD_DIR NEW_DIR)")
    return Path(done.stdout.decode("utf-8").strip()).resolve()


def check_ref(root: Path, ref: str) -> None:
    if not ref or ref.startswith("-"):
        raise UsageError(f"--base {ref!r}: not a git ref")
    done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=root,
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise UsageError(f"unknown git ref '{ref}': check the name, or fetch it first "
                         "(in CI: actions/checkout with fetch-depth: 0, or git fetch origin <branch>)")


def specs_at(ref: str, root: Path, targets: list[Path], into: Path) -> list[Path]:
    """Write the repository's YAML files as they are at `ref` below `into` (same layout), and return the targets
    that exist at `ref`, mapped below `into`.

    Every *.yaml / *.yml of the tree is written, not only those under the targets: a spec's `extends` may name a
    base anywhere in the repository. One `git ls-tree` and one `git cat-file --batch` read them all.
    """
    for target in targets:
        if not target.is_relative_to(root):
            raise UsageError(f"{config.display(target)}: outside the git repository at {root}")
    listing = _git(["ls-tree", "-r", "-z", "--full-tree", ref], root, f"git ls-tree {ref}")
    wanted: list[tuple[str, str]] = []  # (object ID, path)
    for entry in filter(None, listing.split(b"\0")):
        meta, _, name = entry.partition(b"\t")
        mode, kind, oid = meta.decode().split(" ", 2)
        path = name.decode("utf-8", "surrogateescape")
        if kind == "blob" and mode in _BLOB_MODES and Path(path).suffix in config.SPEC_SUFFIXES:
            wanted.append((oid, safe_tree_path(path, ref)))
    if wanted:
        try:
            done = subprocess.run(["git", "cat-file", "--batch"], cwd=root, check=False, capture_output=True,
                                  input="".join(f"{oid}\n" for oid, _ in wanted).encode())
        except FileNotFoundError as exc:  # pragma: no cover - git ran a moment ago
            raise UsageError("git is not installed (or not on PATH): --base needs it") from exc
        if done.returncode != 0:
            raise UsageError(f"git cat-file {ref}: {done.stderr.decode('utf-8', 'replace').strip()}")
        data, at = done.stdout, 0
        for oid, path in wanted:
            header_end = data.index(b"\n", at)
            size = int(data[at:header_end].split()[2])
            _write_inside(into, path, data[header_end + 1:header_end + 1 + size], ref)
            at = header_end + 1 + size + 1  # the content is followed by a newline
    mapped = [into / target.relative_to(root) for target in targets]
    return [m for m in mapped if m.exists()]


class UnsafeTreeError(AmlgenError):
    """A git tree names a path that would leave the folder its files are read into (exit 1)."""


_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_tree_path(path: str, ref: str) -> str:
    """`path` as listed by `git ls-tree`, if it stays below the folder it is written into; else UnsafeTreeError.

    A crafted commit can hold tree entries named `..` (git mktree accepts them), or, written with `git hash-object
    --literally`, names with a slash or a leading `/`: none of them may reach the file system.
    """
    parts = path.split("/")
    bad = (not path or path.startswith("/") or _WINDOWS_DRIVE.match(path)
           or any(part in ("", ".", "..") or "\\" in part or "\0" in part for part in parts))
    if bad:
        raise UnsafeTreeError(f"{ref}:{path!r}: the git tree at {ref} names a path that leaves the repository "
                              "('..', '.', an empty or absolute path, or a backslash): refusing to read its specs; "
                              "check where that commit comes from")
    return path


def _write_inside(folder: Path, path: str, content: bytes, ref: str) -> None:
    """Write one blob below `folder`, never through a link and never outside it."""
    dest = folder.joinpath(*path.split("/"))
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.parent.resolve().is_relative_to(folder):  # belt and braces: safe_tree_path ran already
            raise UnsafeTreeError(f"{ref}:{path!r}: leaves the folder the specs are read into")
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
    except UnsafeTreeError:
        raise
    except OSError as exc:  # two entries with one name, or a file where the tree also has a folder
        raise UnsafeTreeError(f"{ref}:{path!r}: cannot read the specs at {ref}: {exc.strerror or exc} "
                              "(the tree names this path twice, or as a file and a folder)") from exc


def _relabel(findings, folder: Path, ref: str):
    """Findings of the base side name `REF:path`, not the temporary folder the specs were written to."""
    prefix = folder.as_posix() + "/"
    return [replace(f, file=ref + ":" + f.file[len(prefix):]) if f.file.startswith(prefix) else f
            for f in findings]


def _fail_on_findings(findings, side: str) -> bool:
    if findings:
        click.echo(f"== specs at {side}", err=True)
        click.echo(format_text(findings), err=True, nl=False)
    return has_errors(findings)


def base_report(ref: str, paths: tuple[str, ...], out: str | None) -> report.Report | None:
    """The report for --base; None when a side has spec errors (the findings are printed)."""
    root = repository_root(Path.cwd())
    check_ref(root, ref)
    cfg, targets = config.resolve(paths, out, allow_outside=allowed_outside())
    work_files, empty = config.discover(targets, cfg)
    readme = pipeline.ReadmeOptions.of(cfg)  # the same bytes `amlgen generate` writes, README included
    work = pipeline.generate(work_files, empty, readme)
    with tempfile.TemporaryDirectory(prefix="amlgen-diff-") as tmp:
        folder = Path(tmp).resolve()
        base_targets = specs_at(ref, root, targets, folder)
        roots = tuple(folder / r.relative_to(root) for r in cfg.spec_roots if r.is_relative_to(root))
        # extends: at REF stays inside the repository as it was at REF (unless --allow-outside)
        confine = None if cfg.project is None else folder
        base_files, _ = config.discover(base_targets, config.Config(roots, cfg.output, cfg.origin, project=confine))
        base = pipeline.generate(base_files, (), readme)  # a folder without specs at REF is no error
        base_findings = _relabel(base.findings, folder, ref)
    failed = _fail_on_findings(base_findings, ref)
    failed = _fail_on_findings(work.findings, WORKING_TREE) or failed
    if failed:
        click.echo("no diff: fix the spec errors above", err=True)
        return None
    result = diff.diff_trees(base.files, work.files, ref, WORKING_TREE)
    shown = config.display(cfg.output)
    comparison = output.compare(work.files, cfg.output, shown)
    stale = comparison.stale
    if paths:  # as in `generate`: stale files count only inside the folders of the specs read
        read = {f.out_folder.as_posix() for f in work_files}
        stale = [s for s in stale if s.rsplit("/", 1)[0] in read]
    result.drift = diff.Drift(shown, comparison.changed, comparison.missing, stale)
    return result


@click.command("diff")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--base", "base", metavar="REF",
              help="Compare the specs at this git ref (e.g. origin/main) with the working tree; PATHS are spec "
                   "files or folders (default: the configured spec folders).")
@click.option("-o", "--output", "out", type=click.Path(file_okay=False),
              help="With --base: the output folder checked against the working-tree specs "
                   "(default: [tool.amlgen] output, else ./out).")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="text for people; markdown for a pull-request comment; json for scripts.")
@allow_outside
def diff_command(paths, base, out, fmt):
    """What a change does to Azure: resources added, removed and changed, per workspace, with warnings.

    \b
    amlgen diff OLD_DIR NEW_DIR          two generated trees (folders holding <spec>/main.json)
    amlgen diff --base REF [PATHS]       the specs at REF vs the working tree, both generated in memory

    Exit codes: 0 the report was produced (changes or not), 1 a side has spec errors, 2 usage.
    """
    if base is None:
        if len(paths) != 2:
            raise click.UsageError("give two generated folders (amlgen diff OLD_DIR NEW_DIR), "
                                   "or a git ref to compare the specs with (amlgen diff --base REF [PATHS])")
        if out is not None:
            raise click.UsageError("--output goes with --base (it names the output folder to check)")
        for given in paths:
            config.require_path(given, "folder")
            if not Path(given).is_dir() or not any(Path(given).rglob(diff.TEMPLATE)):
                raise click.UsageError(f"{given}: not a folder of generated templates (no */{diff.TEMPLATE} in it)")
        result = diff.diff_folders(Path(paths[0]), Path(paths[1]), paths[0], paths[1])
    else:
        result = base_report(base, tuple(paths), out)
        if result is None:
            sys.exit(1)
    sys.stdout.write(report.render(result, fmt))
    sys.exit(0)


def register(group: click.Group) -> None:
    """Add `diff` to the amlgen command group."""
    group.add_command(diff_command)
