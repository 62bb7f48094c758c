"""Plain-JSON files written safely: strict JSON values, atomic replace, content hashes.

Every JSON the project writes (project files, extract sidecars, diagnostics, figure truth)
goes through here, so NaN/inf never reach a file and a crash never leaves half a file.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from kmrecon.errors import KMReconError


def json_safe(obj):
    """A strict-JSON copy: numpy scalars/arrays to Python values, tuples to lists, NaN/inf to None."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    return obj


class OutputError(KMReconError):
    """An output file cannot be written (missing or read-only folder, a file in the way, disk full)."""


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _os_message(exc: OSError, path: Path) -> str:
    """A sentence saying what went wrong writing ``path`` and what to do about it."""
    why = exc.strerror or str(exc)
    hint = {
        errno.ENOSPC: "free some disk space or choose another drive",
        errno.EDQUOT: "free some space (disk quota exceeded) or choose another drive",
        errno.EACCES: "choose a folder you can write to",
        errno.EPERM: "choose a folder you can write to",
        errno.EROFS: "the drive is read-only; choose another folder",
        errno.ENOTDIR: "a file is in the way of the folder; choose another path",
        errno.EISDIR: "a folder has that name; choose another file name",
        errno.ENAMETOOLONG: "choose a shorter name",
    }.get(exc.errno, "check the path and try again")
    return f"cannot write {path}: {why}; {hint}"


def output_error(exc: OSError, path) -> OutputError:
    """Wrap an OSError raised while writing ``path`` as an :class:`OutputError`."""
    return OutputError(_os_message(exc, Path(path)))


def _stage(path: Path) -> Path:
    """A new empty temporary file beside ``path`` with the umask's permissions (not mkstemp's 0600)."""
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
        try:
            os.fchmod(fd, 0o666 & ~_umask())
        except (AttributeError, OSError):  # Windows / odd file systems: keep mkstemp's mode
            pass
        os.close(fd)
    except FileExistsError as exc:  # mkdir over an existing file
        raise OutputError(_os_message(OSError(errno.ENOTDIR, "Not a directory", str(path.parent)), path)) from exc
    except OSError as exc:
        raise output_error(exc, path) from exc
    return Path(tmp)


def _commit(tmp: Path, path: Path) -> None:
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically
    (fsynced first); on any error the temporary file is removed and ``path`` is untouched.
    OSErrors (missing or read-only folder, a file in the way, disk full) come out as
    :class:`OutputError` naming ``path``. The file gets the umask's mode (e.g. 0644)."""
    path = Path(path)
    tmp = _stage(path)
    try:
        yield tmp
        _commit(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            if os.path.exists(tmp):
                os.unlink(tmp)
        if isinstance(exc, OSError):
            raise output_error(exc, path) from exc
        raise


@contextmanager
def atomic_paths(paths):
    """Write several files as a set: yields one temporary path per entry of ``paths`` (in
    order); only when the body has written all of them (and each is fsynced) are they renamed
    into place, one after another. A failure while writing (e.g. a full disk) leaves every
    existing file as it was; renames need no space, so the set is not left half old, half new."""
    paths = [Path(p) for p in paths]
    tmps: list[Path] = []
    try:
        for p in paths:
            tmps.append(_stage(p))
        yield list(tmps)
        for t, p in zip(tmps, paths):
            with open(t, "rb") as fh:
                os.fsync(fh.fileno())
        for t, p in zip(tmps, paths):
            os.replace(t, p)
    except BaseException as exc:
        for t in tmps:
            with contextlib.suppress(OSError):
                if os.path.exists(t):
                    os.unlink(t)
        if isinstance(exc, OSError):
            names = {str(exc.filename), str(getattr(exc, "filename2", None))}
            where = next((p for t, p in zip(tmps, paths) if str(t) in names or str(p) in names), paths[0])
            raise output_error(exc, where) from exc
        raise


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_outputs(outputs, inputs, option: str = "--out") -> None:
    """Refuse to write over an input: each output path is compared (resolved, and as the same
    file on disk) with each input path. Raises :class:`OutputError` naming both."""
    ins = [Path(p) for p in inputs if p is not None]
    outs = [Path(p) for p in outputs if p is not None]
    for o in outs:
        for i in ins:
            if _same_file(o, i):
                raise OutputError(f"{option}: writing {o} would overwrite the input {i}; "
                                  "choose another output name")
    seen: dict[Path, Path] = {}
    for o in outs:
        r = o.resolve()
        if r in seen:
            raise OutputError(f"{option}: two outputs would be written to {o}; choose another name")
        seen[r] = o


def dump_json(data, path, *, indent: int | None = 2) -> None:
    """Write ``data`` as strict JSON (see :func:`json_safe`) to ``path`` as it is (not atomic:
    for a temporary path of :func:`atomic_path` / :func:`atomic_paths`)."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(json_safe(data), fh, indent=indent, allow_nan=False)
        fh.write("\n")


def write_json(data, path, *, indent: int | None = 2) -> Path:
    """Write ``data`` as strict JSON (see :func:`json_safe`), atomically."""
    with atomic_path(path) as tmp:
        dump_json(data, tmp, indent=indent)
    return Path(path)


def file_sha256(path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
