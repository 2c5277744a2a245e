"""File boundary: reading user tables, checking output paths, and writing outputs atomically.

Three rules hold for every file and directory the toolkit writes:

1. **Nothing half-written.** Content goes to a temporary name beside the target and is renamed into
   place (:func:`atomic_path`, :func:`model_dir_writer`), so a killed process (SIGINT, or SIGTERM,
   which the CLI turns into the same clean exit) never leaves a partial file; the temporary name is
   removed on the way out.
2. **Nothing the tool did not write is deleted or replaced.** A model directory carries a manifest,
   ``trust-model.json`` (``{"kind": ..., "format_version": ...}``), that marks it as ours. An output
   directory may be new, empty, or one of our model directories of the same kind (replaced as a whole,
   atomically: the new one is built beside it, renamed in, and only then is the old one removed).
   A directory holding anything else, or an existing ordinary file where a directory is asked for, is
   refused, whatever ``overwrite`` says. Output *files* are replaced only with ``overwrite=True``.
3. **Paths are checked before the work.** :func:`check_output_file` and :func:`check_output_dir` say
   what is wrong with an output path (a directory where a file is asked for, a parent that is a file,
   an unwritable parent, an unknown extension) as a one-line :class:`~trust.errors.DataError`, so a
   command can fail in a millisecond rather than after an hour of training.

Files are created with the process's umask (as ``open`` would), not with a forced private mode.

This module imports pandas and torch only inside the functions that need them, so that the command
line can check paths without loading the numerical stack.
"""

from __future__ import annotations

import contextlib
import csv
import io as _io
import json
import math
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from trust.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

MANIFEST = "trust-model.json"
FORMAT_VERSION = 1
TABLE_SUFFIXES = (".csv", ".parquet")


# ------------------------------------------------------------------------------------------------
# permissions and temporary names
# ------------------------------------------------------------------------------------------------
def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def _chmod_default(path: Path, *, directory: bool) -> None:
    """Give a mkstemp/mkdtemp result the mode ``open``/``mkdir`` would have given (0666/0777 minus the umask)."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    On an exception (including ``KeyboardInterrupt`` and ``SystemExit``) the temporary file is removed
    and ``path`` is left untouched. The file gets the umask's default mode.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        _chmod_default(tmp_path, directory=False)
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def _non_finite_key(obj: Any, where: str = "") -> str | None:
    """The JSON path of the first non-finite float in ``obj``, or None."""
    if isinstance(obj, float) or (type(obj).__module__ == "numpy" and hasattr(obj, "dtype") and obj.dtype.kind == "f"
                                  and getattr(obj, "ndim", 0) == 0):
        return None if math.isfinite(float(obj)) else (where or "(top level)")
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            hit = _non_finite_key(v, f"{where}.{k}" if where else str(k))
            if hit:
                return hit
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            hit = _non_finite_key(v, f"{where}[{i}]")
            if hit:
                return hit
    elif type(obj).__module__ == "numpy" and hasattr(obj, "tolist"):
        return _non_finite_key(obj.tolist(), where)
    return None


def atomic_write_json(path: str | os.PathLike[str], obj: Any, *, finite: bool = False) -> Path:
    """Write ``obj`` as indented, key-sorted JSON (stable diffs), atomically.

    With ``finite=True`` a NaN or infinite number anywhere in ``obj`` (which would be written as the
    non-JSON tokens ``NaN``/``Infinity``) raises :class:`~trust.errors.DataError` naming its key, and
    nothing is written.
    """
    if finite:
        bad = _non_finite_key(obj)
        if bad is not None:
            raise DataError(f"'{bad}' is not a finite number, so '{path}' would not be valid JSON; nothing was "
                            "written: check the input for huge (e.g. 1e300) or missing values")
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(x: Any) -> Any:
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


# ------------------------------------------------------------------------------------------------
# checking paths before the work starts
# ------------------------------------------------------------------------------------------------
def _flag(flag: str | None, path: Path) -> str:
    return f"{flag} '{path}'" if flag else f"'{path}'"


def _check_parent(path: Path, flag: str | None) -> None:
    """The nearest existing ancestor of ``path`` must be a writable directory."""
    parent = path.absolute().parent
    while not parent.exists():
        if parent.is_symlink():  # a dangling link
            break
        parent = parent.parent
    if not parent.is_dir():
        raise DataError(f"{_flag(flag, path)}: '{parent}' is a file, not a directory; choose a path inside a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataError(f"{_flag(flag, path)}: directory '{parent}' is not writable; choose a path you may write to")


def check_input_file(path: str | os.PathLike[str], *, flag: str | None = None) -> Path:
    """``path`` must be an existing, readable ordinary file (a one-line DataError otherwise)."""
    p = Path(path)
    if not p.exists():
        hint = "" if flag == "--schema" else " or run 'trust data list' for bundled datasets"
        raise DataError(f"file '{p}'{f' ({flag})' if flag else ''} does not exist; check the path{hint}")
    if p.is_dir():
        raise DataError(f"'{p}' is a directory; pass a CSV or Parquet file")
    if not os.access(p, os.R_OK):
        raise DataError(f"file '{p}' is not readable; check its permissions")
    return p


def check_output_file(path: str | os.PathLike[str], *, flag: str | None = "--out", overwrite: bool = False,
                      suffixes: Sequence[str] | None = None) -> Path:
    """Check, before any work, that a file can be written at ``path``; return it.

    Refuses (one-line :class:`~trust.errors.DataError`): an extension outside ``suffixes`` (when given),
    an existing directory, a parent that is a file or not writable, and an existing file unless
    ``overwrite``.
    """
    p = Path(path)
    if suffixes is not None and p.suffix.lower() not in suffixes:
        what = f"extension '{p.suffix}'" if p.suffix else "no extension"
        raise DataError(f"{_flag(flag, p)} has {what}; name the file with one of {', '.join(suffixes)}")
    if p.is_dir():
        example = p / ("out" + (list(suffixes) or [".json"])[0]) if suffixes else p / "out.json"
        raise DataError(f"{_flag(flag, p)} is a directory; give a file name (e.g. '{example}')")
    if p.exists() or p.is_symlink():
        if not overwrite:
            raise DataError(f"{_flag(flag, p)} already exists; pass --overwrite to replace it, or choose another name")
        if not os.access(p.absolute().parent, os.W_OK | os.X_OK):
            raise DataError(f"{_flag(flag, p)}: its directory is not writable; choose a path you may write to")
        return p
    _check_parent(p, flag)
    return p


def model_kind(path: str | os.PathLike[str]) -> str | None:
    """The ``kind`` in ``path``'s manifest when ``path`` is a directory this toolkit wrote, else None."""
    m = Path(path) / MANIFEST
    if not m.is_file():
        return None
    try:
        d = json.loads(m.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return d.get("kind") if isinstance(d, dict) and isinstance(d.get("kind"), str) else None


def check_output_dir(path: str | os.PathLike[str], *, kind: str, flag: str | None = "--out",
                     overwrite: bool = False) -> Path:
    """Check, before any work, that a model directory of ``kind`` may be written at ``path``; return it.

    Allowed: a new path (its nearest existing ancestor a writable directory), an empty directory, or
    (with ``overwrite``) one of our model directories of the same ``kind``. Refused, whatever
    ``overwrite`` says: an existing file, the current directory or one above it, a directory holding
    anything the toolkit did not write.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise DataError(f"{_flag(flag, p)} is an existing file, not a directory; choose a new directory name "
                        "(an existing file is never replaced)")
    if p.is_dir():
        here = Path.cwd().resolve()
        if p.resolve() == here or p.resolve() in here.parents:
            raise DataError(f"{_flag(flag, p)} is the current directory (or holds it); choose a new directory name")
        if any(p.iterdir()):
            found = model_kind(p)
            if found is None:
                raise DataError(f"{_flag(flag, p)} already holds files that trust did not write; choose a new or "
                                "empty directory (nothing was deleted)")
            if found != kind:
                raise DataError(f"{_flag(flag, p)} holds a '{found}' model, not a '{kind}' one; choose another "
                                "directory (nothing was deleted)")
            if not overwrite:
                raise DataError(f"{_flag(flag, p)} already holds a model; pass --overwrite to replace it, or "
                                "choose another directory")
        if not os.access(p.absolute().parent, os.W_OK | os.X_OK):
            raise DataError(f"{_flag(flag, p)}: its parent directory is not writable; choose a path you may write to")
        return p
    _check_parent(p, flag)
    return p


@contextlib.contextmanager
def model_dir_writer(path: str | os.PathLike[str], *, kind: str, overwrite: bool = True,
                     meta: Mapping[str, Any] | None = None) -> Iterator[Path]:
    """Build a model directory of ``kind`` in a temporary directory beside ``path`` and swap it in.

    Yields the temporary directory to fill. On success the manifest (``trust-model.json``: ``kind``,
    ``format_version``, ``files`` (every file it holds, so that ``trust verify`` can tell that a released model
    directory holds nothing else) and ``meta``) is written, the directory renamed onto ``path`` (an existing model
    directory of ours is first moved aside and removed only after the rename), and ``path`` returned. On
    any exception, ``KeyboardInterrupt`` and ``SystemExit`` included, the temporary directory is removed
    and ``path`` is as it was. ``path`` is checked with :func:`check_output_dir` first.
    """
    path = Path(path)
    check_output_dir(path, kind=kind, flag=None, overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    old: Path | None = None
    try:
        _chmod_default(tmp, directory=True)
        yield tmp
        files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())  # trust verify reads it
        (tmp / MANIFEST).write_text(json.dumps({"kind": kind, "format_version": FORMAT_VERSION, "files": files,
                                                "meta": dict(meta or {})}, indent=1, sort_keys=True) + "\n",
                                    encoding="utf-8")
        if path.is_dir() and any(path.iterdir()):
            old = path.with_name(f".{path.name}.{secrets.token_hex(4)}.old")
            os.replace(path, old)
        os.replace(tmp, path)  # onto a missing path or an empty directory
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not path.exists():
            os.replace(old, path)
            old = None
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def write_model_dir(path: str | os.PathLike[str], *, kind: str, config: Mapping[str, Any],
                    config_name: str = "model.json", weights: Mapping[str, Any] | None = None,
                    weights_name: str = "weights.pt", meta: Mapping[str, Any] | None = None) -> Path:
    """Write an estimator's model directory: ``config`` as JSON and, if given, ``weights`` (a torch state
    dict) with ``torch.save``, through :func:`model_dir_writer` (atomic, manifest of ``kind``, foreign
    directories refused). Returns ``path``."""
    with model_dir_writer(path, kind=kind, meta=meta) as tmp:
        if weights is not None:
            import torch

            torch.save(dict(weights), tmp / weights_name)
        atomic_write_json(tmp / config_name, config)
    return Path(path)


def read_model_dir(path: str | os.PathLike[str], *, kind: str, files: Sequence[str] = (),
                   what: str = "model") -> dict[str, Any]:
    """Check that ``path`` is a model directory of ``kind`` holding ``files``; return its manifest.

    A directory without a manifest but with every one of ``files`` is accepted (written before
    manifests existed); the manifest returned is then empty.

    Raises:
        DataError: ``path`` is missing or not a directory, is a model of another kind or a newer format,
            or lacks one of ``files``.
    """
    p = Path(path)
    expect = " and ".join(files) if files else MANIFEST
    if not p.is_dir():
        why = "it does not exist" if not p.exists() else "not a directory"
        raise DataError(f"'{p}' is not a saved {what} ({why}); "
                        "pass the directory written by fit/save")
    manifest: dict[str, Any] = {}
    if (p / MANIFEST).is_file():
        try:
            manifest = json.loads((p / MANIFEST).read_text(encoding="utf-8"))
            if not isinstance(manifest, dict):
                raise ValueError("not an object")
        except (OSError, ValueError) as e:
            raise DataError(f"'{p / MANIFEST}' is not valid JSON ({type(e).__name__}); save the model again") from None
        if manifest.get("kind") != kind:
            raise DataError(f"'{p}' holds a '{manifest.get('kind')}' model, not a saved {what}; pass a directory "
                            f"written by the {what}'s fit/save")
        if not isinstance(manifest.get("format_version"), int) or manifest["format_version"] > FORMAT_VERSION:
            raise DataError(f"'{p}' was written in format {manifest.get('format_version')!r}, newer than this "
                            f"version of trust reads ({FORMAT_VERSION}); upgrade trust or save the model again")
    for f in files:
        if not (p / f).is_file():
            raise DataError(f"'{p}' is not a saved {what} ({expect} expected); pass the directory written by fit/save")
    return manifest


def load_torch_weights(path: str | os.PathLike[str], modules: Mapping[str, Any]) -> None:
    """Load ``path`` (a ``torch.save`` of ``{name: state_dict}``) into ``modules`` (``{name: nn.Module}``).

    Raises:
        DataError: the file is truncated, not a torch file, not a dict of the expected state dicts, or the
            weights do not fit the networks (another model's file); the message names the file.
    """
    import pickle
    import struct
    import zipfile

    import torch

    p = Path(path)
    fix = "it is not the weights file this model saved (truncated or from another model); save the model again"
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any file a user points at: truncated zips, foreign pickles, struct errors
        if not isinstance(e, (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile,
                              struct.error, KeyError, AttributeError, TypeError)):
            raise
        raise DataError(f"'{p}' could not be read ({type(e).__name__}); {fix}") from None
    if not isinstance(state, dict) or any(not isinstance(state.get(k), dict) for k in modules):
        raise DataError(f"'{p}' does not hold the state of {', '.join(modules)}; {fix}")
    for name, module in modules.items():
        try:
            module.load_state_dict(state[name])
        except (RuntimeError, KeyError, TypeError, ValueError):
            raise DataError(f"'{p}': the '{name}' weights do not fit this model's network; {fix}") from None


# ------------------------------------------------------------------------------------------------
# tables
# ------------------------------------------------------------------------------------------------
def read_yaml_mapping(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A YAML file that must hold a mapping (``params.yaml``); ConfigError names the file and the fix."""
    import yaml

    from trust.errors import ConfigError

    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"'{path}' is not valid YAML ({str(e).splitlines()[0]}); fix the file") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"'{path}' must hold a mapping of stage sections")
    return doc


def check_unique_columns(df: "pd.DataFrame", what: str = "the table") -> None:
    """Refuse duplicate column names (a DataError naming the first one)."""
    seen: set[Any] = set()
    for c in df.columns:
        if c in seen:
            raise DataError(f"{what} has two columns named '{c}'; rename one so every column name is unique")
        seen.add(c)


def write_table(df: "pd.DataFrame", path: str | os.PathLike[str]) -> Path:
    """Write a table as Parquet (``.parquet``) or CSV (``.csv``), atomically.

    Raises:
        DataError: another extension (``.xlsx`` is not silently written as CSV), or duplicate column names.
    """
    path = Path(path)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise DataError(f"'{path}' has extension '{path.suffix}'; tables are written as {' or '.join(TABLE_SUFFIXES)}")
    check_unique_columns(df)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False)
    return path


def _sniff_sep(head: str) -> str:
    """The delimiter of a CSV whose first lines are ``head``: ``,`` unless the header has none and ``;``, tab
    or ``|`` splits it consistently."""
    lines = [ln for ln in head.splitlines() if ln.strip()][:5]
    if not lines or "," in lines[0]:
        return ","
    for sep in (";", "\t", "|"):
        counts = {ln.count(sep) for ln in lines}
        if len(counts) == 1 and next(iter(counts)) > 0:
            return sep
    return ","


def read_table(path: str | os.PathLike[str], *, na_values: list[str] | None = None,
               sep: str | None = None) -> "pd.DataFrame":
    """Read a user's CSV (plain or gzip-compressed, whatever its name) or Parquet file.

    The delimiter is ``sep`` or, when None, detected from the header (``,`` unless the header holds no
    comma and is split consistently by ``;``, a tab or ``|``). Leading spaces after delimiters are
    skipped; ``na_values`` are read as missing.

    Raises:
        DataError: the file is missing, a directory, empty, unparseable, not text, or has two columns of
            the same name (pandas would silently rename the second ``name.1``); the message names the
            path and the fix.
    """
    import pandas as pd

    p = check_input_file(path)
    fix = "pass a valid CSV (UTF-8) or Parquet file"
    try:
        with open(p, "rb") as fh:
            magic = fh.read(4)
        if p.suffix.lower() == ".parquet" or magic == b"PAR1":
            df = pd.read_parquet(p)
        else:
            compression = "gzip" if magic[:2] == b"\x1f\x8b" else None
            if not compression and (magic[:2] == b"PK" or b"\x00" in magic):
                raise DataError(f"file '{p}' is binary (a spreadsheet or archive?), not a CSV; export it as CSV "
                                "(UTF-8) or Parquet")
            if compression:
                import gzip

                with gzip.open(p, "rt", encoding="utf-8", newline="") as fh:
                    head = fh.read(64 * 1024)
            else:
                with open(p, encoding="utf-8", newline="") as fh:
                    head = fh.read(64 * 1024)
            use_sep = sep if sep is not None else _sniff_sep(head)
            header = next(csv.reader(_io.StringIO(head), delimiter=use_sep), [])
            names = [h.strip() for h in header]
            dup = next((h for i, h in enumerate(names) if h in names[:i]), None)
            if dup is not None:
                raise DataError(f"file '{p}' has two columns named '{dup}'; rename one so every column name is unique")
            df = pd.read_csv(p, sep=use_sep, skipinitialspace=True, na_values=na_values, compression=compression)
    except DataError:
        raise
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError, EOFError) as e:
        if isinstance(e, UnicodeDecodeError):
            first = "not UTF-8 text"
        else:
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"file '{p}' could not be read as a table ({first}); {fix}") from None
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise DataError(f"file '{p}' holds no rows; pass a table with a header and at least one row")
    check_unique_columns(df, f"file '{p}'")
    return df


__all__ = ["atomic_path", "atomic_write_text", "atomic_write_bytes", "atomic_write_json", "write_table", "read_table",
           "check_input_file", "check_output_file", "check_output_dir", "check_unique_columns", "model_dir_writer",
           "write_model_dir", "read_model_dir", "model_kind", "load_torch_weights", "MANIFEST", "FORMAT_VERSION", "TABLE_SUFFIXES"]
