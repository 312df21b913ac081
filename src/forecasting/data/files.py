"""Writing outputs atomically: a reader never sees a half-written file or folder.

Every command writes through these functions (DESIGN.md, "Outputs"): a temporary
beside the target, renamed over it on success, with the user's umask; an
interrupted run leaves the previous complete output in place.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

__all__ = ["atomic_path", "atomic_dir", "write_text", "write_csv", "write_parquet", "write_duckdb"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    Readers never see a half-written file, and a failure leaves the old file (or
    nothing) in place.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    with _parent_folders(path):
        _remove_stale(path.parent, path.stem, path.suffix)
        # Keep the suffix: some writers (papermill, pandas) pick the format from it.
        fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(path.stem), suffix=path.suffix, dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        try:
            yield tmp_path
            _set_umask_mode(tmp_path)
            os.replace(tmp_path, path)
        finally:
            _remove(tmp_path)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; swap it in for ``path`` on success.

    The swap is one atomic exchange where the system has it (Linux), else two
    renames with the old folder put back if the second fails; either way a
    failure leaves the old folder, or nothing, in place, and the old one is
    then removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "model"
    >>> with atomic_dir(target) as tmp:
    ...     _ = (tmp / "card.json").write_text("{}")
    >>> sorted(p.name for p in target.iterdir())
    ['card.json']
    """
    path = Path(path)
    with _parent_folders(path):
        _remove_stale(path.parent, path.name)
        tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(path.name), dir=path.parent))
        try:
            yield tmp
            _set_umask_mode(tmp)
            _swap_in(tmp, path)
        finally:
            _remove(tmp)  # the old folder after an exchange, else what is left of a failed run


@contextlib.contextmanager
def _parent_folders(path: Path) -> Iterator[None]:
    """Make the missing folders above ``path``; remove them again if the block fails
    (bad input leaves no empty output folder behind)."""
    missing = [folder for folder in path.parents if not folder.exists()]  # deepest first
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        for folder in missing:
            with contextlib.suppress(OSError):  # not empty (another writer's files): kept
                folder.rmdir()
        raise


# Temporaries are siblings of their target named ``.NAME.tmp-PID-RANDOM[SUFFIX]`` (``-old``
# added while a folder is swapped). The pid tells the leftover of a killed run (pid gone:
# SIGKILL, power loss) from the temporary of a run still writing the same target.
def _tmp_prefix(name: str) -> str:
    return f".{name}.tmp-{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove_stale(folder: Path, name: str, suffix: str = "") -> None:
    """Remove the temporaries of target ``name`` left in ``folder`` by runs that were killed."""
    ours = re.compile(rf"\.{re.escape(name)}\.tmp-(\d+)-[a-z0-9_]+{re.escape(suffix)}(?:-old)?")
    with os.scandir(folder) as entries:
        stale = [Path(e.path) for e in entries if (m := ours.fullmatch(e.name)) and not _pid_alive(int(m[1]))]
    for path in stale:
        _remove(path)


def _remove(path: Path) -> None:
    """Remove a file, link or folder if it exists (a link is removed, never followed)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _umask() -> int:
    """The process umask, read without changing it where the system tells it (Linux)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere the only way to read it is to set it: put it back at once
    os.umask(mask)
    return mask


def _set_umask_mode(path: Path) -> None:
    """Give a temporary the mode ``open``/``mkdir`` would have given the target: mkstemp and
    mkdtemp create 0600 / 0700, which would make every output private to its writer."""
    if path.exists():
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~_umask())


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False where the system or the file system cannot (other systems, NFS).
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:  # glibc < 2.28, musl
        return False
    renameat2.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _swap_in(new: Path, path: Path) -> None:
    """Put folder ``new`` at ``path``. An old ``path`` ends up at ``new`` (for the caller to
    remove); it is never missing for longer than between two renames."""
    if not os.path.lexists(path):
        os.replace(new, path)
    elif not _exchange(new, path):
        old = new.with_name(new.name + "-old")
        os.replace(path, old)
        try:
            os.replace(new, path)
        except BaseException:  # a signal or an error between the renames: the old folder goes back
            os.replace(old, path)
            raise
        os.replace(old, new)


def _write_with(path, write: Callable[[Path], None]) -> Path:
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write text atomically."""
    return _write_with(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_csv(frame: pd.DataFrame, path: str | os.PathLike, **kwargs) -> Path:
    """Write a DataFrame as CSV atomically (no index unless asked)."""
    kwargs.setdefault("index", False)
    return _write_with(path, lambda tmp: frame.to_csv(tmp, **kwargs))


def write_parquet(frame: pd.DataFrame, path: str | os.PathLike, **kwargs) -> Path:
    """Write a DataFrame as Parquet atomically."""
    kwargs.setdefault("index", False)
    return _write_with(path, lambda tmp: frame.to_parquet(tmp, **kwargs))


def write_duckdb(tables: dict[str, pd.DataFrame], path: str | os.PathLike) -> Path:
    """Write frames as the tables of one DuckDB file, atomically (all tables or none).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> db = write_duckdb({"leads": pd.DataFrame({"lead_id": ["L1"]})},
    ...                   pathlib.Path(tempfile.mkdtemp()) / "crm.duckdb")
    >>> import duckdb
    >>> duckdb.connect(str(db), read_only=True).execute("SELECT lead_id FROM leads").fetchall()
    [('L1',)]
    """
    import duckdb

    from .sql import quote_identifier

    def write(tmp: Path) -> None:
        tmp.unlink()  # duckdb wants to create the file itself
        with duckdb.connect(str(tmp)) as con:
            for name, frame in tables.items():
                con.register("_frame", frame)
                con.execute(f"CREATE TABLE {quote_identifier(name)} AS SELECT * FROM _frame")
                con.unregister("_frame")

    return _write_with(path, write)
