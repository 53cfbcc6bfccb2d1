"""Write generated files into the output folder atomically, or compare them with it (--check) as a unified diff."""

from __future__ import annotations

import difflib
import errno
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from generator import GENERATED_BY
from generator.errors import WriteError

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
    text = _read(folder / "main.json")
    return text is not None and GENERATED_BY in text[:2000]


def _is_file(path: Path) -> bool:
    """A regular file, not a symbolic link to one (os.lstat: never follow a link)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def owned_files(out_dir: Path) -> list[str]:
    """The files amlgen wrote below `out_dir`, found without following symbolic links (os.walk does not descend
    into a linked folder, and a link is never a file amlgen owns): nothing outside the folder is read or pruned."""
    if not out_dir.is_dir():
        return []
    folders = [Path(top) for top, _, names in os.walk(out_dir) if "main.json" in names]
    folders = [f for f in folders if _generated_folder(f)]
    owned = {f / name for f in folders for name in OWNED_NAMES if _is_file(f / name)}
    for folder in folders:
        modules = folder / MODULES
        if os.path.isdir(modules) and not os.path.islink(modules):
            owned |= {modules / n for n in os.listdir(modules) if n.endswith(".bicep") and _is_file(modules / n)}
    return sorted(p.relative_to(out_dir).as_posix() for p in owned)


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # POSIX: opening a symbolic link fails (ELOOP) instead of following it


def _read_bytes(path: Path) -> bytes | None:
    """A file's bytes, or None when it is absent, unreadable, a symbolic link or not a regular file (opened without
    blocking: a FIFO named main.json must not hang --check)."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (OSError, ValueError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    except OSError:
        return None
    finally:
        os.close(fd)


def _read_below(out_dir: Path, rel: str) -> bytes | None:
    """The bytes of `rel` below `out_dir`, or None when it is absent or any part of its path below `out_dir` is a
    symbolic link (never read through one: --check, diff and deploy compare only what amlgen would write)."""
    folder = out_dir
    for part in rel.split("/")[:-1]:
        folder = folder / part
        if os.path.islink(folder):
            return None
    return _read_bytes(out_dir / rel)


def _read(path: Path, rel: str | None = None) -> str | None:
    data = _read_bytes(path) if rel is None else _read_below(path, rel)
    try:
        return None if data is None else data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def compare(files: dict[str, str], out_dir: Path, label: str) -> Comparison:
    result = Comparison()
    chunks: list[str] = []
    for rel in sorted(files):
        current = _read(out_dir, rel)
        if current == files[rel]:
            continue
        (result.missing if current is None else result.changed).append(rel)
        chunks.extend(difflib.unified_diff((current or "").splitlines(keepends=True),
                                           files[rel].splitlines(keepends=True),
                                           f"a/{label}/{rel}", f"b/{label}/{rel}"))
    for rel in owned_files(out_dir):
        if rel not in files:
            result.stale.append(rel)
            chunks.extend(difflib.unified_diff((_read(out_dir, rel) or "").splitlines(keepends=True), [],
                                               f"a/{label}/{rel}", "/dev/null"))
    result.diff = "".join(c if c.endswith("\n") else c + "\n\\ No newline at end of file\n" for c in chunks)
    return result


# --- path checks before anything is written -----------------------------------------------------------------

def collisions(owners: dict[str, str]) -> list[tuple[str, str, str]]:
    """Generated paths that cannot all exist: a file that is also a folder (`a/main.json` beside
    `a/main.json/main.json`), or two paths that differ only in case (one path on Windows and macOS).
    `owners` maps each generated file (POSIX, below the output folder) to who generates it. Returns
    (owner, other owner, what collides) for every owner involved, the shortest colliding path only."""
    by_path: dict[str, set[str]] = {}  # every file and folder -> who generates it (or something below it)
    kind: dict[str, str] = {}
    clash: dict[str, str] = {}  # path -> what collides there
    for rel, owner in owners.items():
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            path = "/".join(parts[:i])
            what = "file" if i == len(parts) else "folder"
            by_path.setdefault(path, set()).add(owner)
            if kind.setdefault(path, what) != what:
                clash[path] = f"'{path}' is both a file and a folder"
    by_fold: dict[str, list[str]] = {}
    for path in by_path:
        by_fold.setdefault(path.casefold(), []).append(path)
    for same in by_fold.values():
        if len(same) > 1:
            for path in same:
                clash.setdefault(path, "'" + "', '".join(sorted(same)) + "' differ only in case: "
                                       "one path on Windows and macOS")
    found: set[tuple[str, str, str]] = set()
    for path, what in clash.items():
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        if parent and any(parent == c or parent.startswith(c + "/") for c in clash):
            continue  # below a path that collides already: report that one only
        involved = set().union(*(by_path[p] for p in by_fold[path.casefold()]))
        for owner in involved:
            for other in involved - {owner}:
                found.add((owner, other, what))
    return sorted(found)


def obstacles(files, out_dir: Path) -> list[tuple[str, str]]:
    """What on disk stands in the way of writing `files` below `out_dir`, as (path below out_dir, problem):
    a symbolic link anywhere below the output folder (amlgen never writes through one), a file where a folder
    must be, a folder or a special file where a generated file goes."""
    problems: dict[str, str] = {}
    checked: set[str] = set()
    for rel in sorted(files):
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            path = "/".join(parts[:i])
            if path in checked:
                if path in problems:
                    break  # reported once, for the shortest path in the way
                continue
            checked.add(path)
            try:
                mode = os.lstat(out_dir / path).st_mode
            except FileNotFoundError:
                break  # amlgen creates it and everything below it
            except OSError as exc:
                problems[path] = f"cannot be inspected: {exc.strerror}"
                break
            last = i == len(parts)
            if stat.S_ISLNK(mode):
                problems[path] = ("is a symbolic link: amlgen never writes through one; remove the link "
                                  f"(and let amlgen create the {'file' if last else 'folder'})")
            elif not last and not stat.S_ISDIR(mode):
                problems[path] = "is not a folder, but a generated file goes below it: move it away"
            elif last and not stat.S_ISREG(mode):
                kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
                problems[path] = f"is {kind}, but amlgen generates a file there: move it away"
            else:
                continue
            break
    return sorted(problems.items())


# --- writing: stage every file, then replace them; on any error put everything back -------------------------

def _umask_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _sibling(path: Path, kind: str) -> Path:
    """A hidden name beside `path` for a staged copy or a backup (amlgen's own files never start with a dot)."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.{kind}")


def _stage(path: Path, data: bytes, mode: int) -> Path:
    """Write `data` into a new hidden file beside `path` (created exclusively: never through a link)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = _sibling(path, "tmp")
        try:
            fd = os.open(tmp, flags, 0o600)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 random names taken
        raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))
    try:
        try:
            # os.open honours the umask: give the file the mode the old one had (fchmod: never a path)
            os.fchmod(fd, mode) if hasattr(os, "fchmod") else os.chmod(tmp, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    except BaseException:
        _quietly(os.unlink, tmp)
        raise
    return tmp


_LINK_NOFOLLOW = {"follow_symlinks": False} if os.link in os.supports_follow_symlinks else {}


def _backup(path: Path) -> Path | tuple[bytes, int] | None:
    """What puts the file at `path` back after a failed run: a second name for it (a hard link: no copy, no
    disk space), or where the file system has no hard links, its bytes and mode; None when there is no file."""
    if not os.path.lexists(path):
        return None
    for _ in range(100):
        backup = _sibling(path, "bak")
        try:
            os.link(path, backup, **_LINK_NOFOLLOW)
            return backup
        except FileExistsError:
            continue
        except (OSError, NotImplementedError):
            break
    data = _read_bytes(path)
    if data is None:
        raise IsADirectoryError(errno.EISDIR, "not a regular file", str(path))
    return data, os.lstat(path).st_mode & 0o777


def _restore(target: Path, backup: Path | tuple[bytes, int] | None) -> OSError | None:
    if backup is None:
        return _quietly(os.unlink, target)
    if isinstance(backup, tuple):
        try:
            os.replace(_stage(target, *backup), target)
        except OSError as exc:
            return exc
        return None
    return _quietly(os.replace, backup, target)


def _discard(backup: Path | tuple[bytes, int] | None) -> None:
    if isinstance(backup, Path):
        _quietly(os.unlink, backup)


def _quietly(action, *args) -> OSError | None:
    try:
        action(*args)
    except OSError as exc:
        return exc
    return None


def _make_folders(folder: Path, out_dir: Path, created: list[Path]) -> None:
    """Create `folder` one level at a time, never through a symbolic link; record what was created."""
    missing = []
    top = out_dir
    while not os.path.lexists(top) and top.parent != top:
        missing.append(top)
        top = top.parent
    steps = [*reversed(missing)] + [out_dir.joinpath(*folder.relative_to(out_dir).parts[:i])
                                    for i in range(1, len(folder.relative_to(out_dir).parts) + 1)]
    for step in steps:
        try:
            os.mkdir(step)
            created.append(step)
        except FileExistsError as exc:
            try:
                mode = os.lstat(step).st_mode
            except OSError:
                raise exc from None
            if not stat.S_ISDIR(mode):  # a file or a link in the way (obstacles() names it before any write)
                raise NotADirectoryError(errno.ENOTDIR, "not a folder (or a symbolic link)", str(step)) from None


@dataclass
class _Transaction:
    """What a run changed in the output folder so far, so that any error can put it back as it was."""

    out_dir: Path
    created: list[Path] = field(default_factory=list)  # folders made, in order
    staged: dict[Path, Path] = field(default_factory=dict)  # target -> staged copy not yet moved into place
    replaced: list[tuple[Path, Path | tuple | None]] = field(default_factory=list)  # target, backup (None: new)
    deleted: list[tuple[Path, Path | tuple]] = field(default_factory=list)  # target, backup

    def rollback(self) -> list[str]:
        """Put everything back; returns the paths that could not be restored."""
        failed = []
        for target, backup in reversed(self.replaced + self.deleted):
            if _restore(target, backup):
                failed.append(str(target))
        for tmp in self.staged.values():
            _quietly(os.unlink, tmp)
        for folder in reversed(self.created):
            if _quietly(os.rmdir, folder):
                failed.append(str(folder))
        return failed

    def commit(self) -> None:
        """The new output is in place: drop the backups, and folders that pruning emptied."""
        for _, backup in self.replaced + self.deleted:
            _discard(backup)
        for folder in sorted({target.parent for target, _ in self.deleted}, key=lambda f: -len(f.parts)):
            while folder != self.out_dir and folder.is_relative_to(self.out_dir) and _quietly(os.rmdir, folder) is None:
                folder = folder.parent  # os.rmdir removes only an empty folder (and never follows a link)


def apply(files: dict[str, str], out_dir: Path, delete=(), label: str = "out") -> list[str]:
    """Write every file that changed and delete `delete` (paths below `out_dir`), all or nothing: every file
    is staged beside its target first, then moved into place (os.replace, one step each) with a hard-linked
    backup of the old one; on any error everything replaced is put back, everything new removed, and a
    WriteError names the path. Returns the files written. Callers check obstacles() first."""
    changes = {}
    for rel in sorted(files):
        data = files[rel].encode("utf-8")
        if _read_below(out_dir, rel) != data:
            changes[rel] = data
    if not changes and not delete:
        return []
    txn = _Transaction(out_dir)
    default_mode = _umask_mode()
    current, doing = "", "write"
    ensured: set[Path] = set()  # folders made or checked in this run: each once, not once per file
    try:
        for rel, data in changes.items():
            target = out_dir / rel
            current, doing = rel, "write"
            if target.parent not in ensured:
                _make_folders(target.parent, out_dir, txn.created)
                ensured.add(target.parent)
            try:  # a file keeps the mode it had (os.lstat: a link is refused by obstacles() anyway)
                mode = os.lstat(target).st_mode & 0o777
            except FileNotFoundError:
                mode = default_mode
            txn.staged[target] = _stage(target, data, mode)
        for rel in changes:
            target = out_dir / rel
            current = rel
            backup = _backup(target)
            try:
                os.replace(txn.staged[target], target)
            except BaseException:
                _discard(backup)
                raise
            del txn.staged[target]
            txn.replaced.append((target, backup))
        for rel in delete:
            target = out_dir / rel
            current, doing = rel, "delete"
            backup = _backup(target)
            if backup is None:
                continue
            try:
                os.unlink(target)
            except BaseException:
                _discard(backup)
                raise
            txn.deleted.append((target, backup))
    except BaseException as exc:
        failed = txn.rollback()
        if not isinstance(exc, OSError):
            raise
        reason = exc.strerror or str(exc)
        where = f"{label}/{current}" if current else label
        if failed:
            raise WriteError(f"cannot {doing} {where}: {reason}; could not restore {', '.join(failed)}") from exc
        raise WriteError(f"cannot {doing} {where}: {reason}; nothing in {label}/ was changed") from exc
    txn.commit()
    return list(changes)


def write_atomic(path: Path, text: str) -> bool:
    """Replace `path` with `text` in one step (a killed run leaves the old file or the new one). False if unchanged."""
    data = text.encode("utf-8")
    if _read_bytes(path) == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        mode = _umask_mode()
    # os.replace is atomic: a killed run leaves the old file or the new one. No fsync: it would cost more
    # than rendering (measured with bench/bench_generate.py), and out/ is regenerated from the specs anyway.
    tmp = _stage(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        _quietly(os.unlink, tmp)
        raise
    return True


def write_all(files: dict[str, str], out_dir: Path) -> list[str]:
    """Write every file (all or nothing, see apply); return the ones that changed."""
    return apply(files, out_dir)


