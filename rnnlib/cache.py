"""The on-disk result cache of the experiment engine (infrastructure, engine layer; Paper: none).

Every computation the book caches (an SGD run of chapter 5, a baseline of chapter 7, ...) is
stored as one JSON file ``<cache_dir>/<key>.json`` and, when the result carries arrays (the
trained weights of an SGD run), one ``<key>.npz`` beside it.  It is not a paper concept; it is
what lets a rebuilt book recompute only what changed and an interrupted sweep resume.

The key
-------
``key = SHA-256(kind, canonical config, code digest of the kind, keys of its inputs)``.  The
*code digest* (:func:`code_digest`) covers only the modules of ``rnnlib`` that the kind's module
imports, directly or through other ``rnnlib`` modules (its static import closure, found with
:mod:`ast`, imports inside functions included).  Each module is digested as the :func:`ast.dump`
of its syntax tree with every docstring removed, so editing a comment or a docstring anywhere
changes no key, and editing a module the kind does not import (``bounds.py`` for an SGD run)
changes no key either.

Integrity
---------
Files are written to a temporary file in the same directory, flushed and renamed over the final
name with :func:`os.replace` (atomic: a ``kill -9`` at any moment leaves no half-written entry).
An entry stores a digest of its payload; on read the format, the key, the payload digest and
the result's own validation (types, finiteness, ranges) are checked, and any failure is a
*damaged entry*: a :class:`CacheWarning` and a recomputation, never a crash and never a wrong
number.  A cache that cannot be written (read-only directory, a directory where an entry file
should be, a payload too deeply nested for JSON) warns and keeps the result in memory for the
rest of the process.
"""
from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

__all__ = ["Cache", "CacheWarning", "CACHE_FORMAT", "CACHE_FORMAT_VERSION", "default_cache_dir",
           "code_digest", "module_closure", "module_digest", "canonical_json", "payload_digest",
           "cache_status"]

CACHE_FORMAT = "rnnlib-experiment-result"
CACHE_FORMAT_VERSION = 2
# temporary files older than this are leftovers of killed writers (a write takes milliseconds)
STALE_TMP_SECONDS = 600.0
PACKAGE_DIR = Path(__file__).resolve().parent


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()


class CacheWarning(UserWarning):
    """A cache entry could not be used or written; it is recomputed or kept in memory."""


def default_cache_dir() -> Path:
    """The cache directory used when none is given.

    ``$RNNLIB_CACHE`` if set; otherwise ``<repo>/.rnnlib_cache`` when ``rnnlib`` is imported
    from a source checkout (the directory above the package holds ``pyproject.toml`` or
    ``.git``), which is where the book's chapters cache their runs whatever their working
    directory; otherwise ``~/.cache/rnnlib``.
    """
    env = os.environ.get("RNNLIB_CACHE", "").strip()
    if env:
        return Path(env).expanduser()
    root = PACKAGE_DIR.parent
    if (root / "pyproject.toml").exists() or (root / ".git").exists():
        return root / ".rnnlib_cache"
    return Path.home() / ".cache" / "rnnlib"


# -- code digests ----------------------------------------------------------------------------

def _module_file(package_dir: Path, dotted: str) -> Path | None:
    """The file of ``rnnlib.<dotted>`` (a module or a package's ``__init__``), or ``None``."""
    base = package_dir.joinpath(*dotted.split(".")) if dotted else package_dir
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _imports(tree: ast.AST, dotted: str, is_package: bool) -> set[str]:
    """The ``rnnlib`` modules a syntax tree imports (relative to the package), wherever the import is."""
    here = dotted.split(".") if dotted else []
    if not is_package:
        here = here[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parent = here[:len(here) - (node.level - 1)] if node.level > 1 else here
                base = parent + (node.module.split(".") if node.module else [])
            elif node.module and (node.module == "rnnlib" or node.module.startswith("rnnlib.")):
                base = node.module.split(".")[1:]
            else:
                continue
            found.add(".".join(base))
            for alias in node.names:  # ``from . import bounds`` imports a module
                found.add(".".join(base + [alias.name]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("rnnlib."):
                    found.add(".".join(alias.name.split(".")[1:]))
    return found


def module_closure(module: str, package_dir: Path | None = None) -> list[str]:
    """The ``rnnlib`` modules that ``module`` depends on, itself included, sorted.

    ``module`` is a dotted name inside the package (``"experiment"`` or ``"rnnlib.experiment"``).
    The closure follows every ``rnnlib`` import statically (imports inside functions included).
    The package's ``__init__`` is left out: it only re-exports names.
    """
    package_dir = PACKAGE_DIR if package_dir is None else Path(package_dir)
    start = module[len("rnnlib."):] if module.startswith("rnnlib.") else module
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name in ("", "rnnlib"):
            continue
        path = _module_file(package_dir, name)
        if path is None:  # an imported *name* (``from .x import y``), not a module
            continue
        seen.add(name)
        todo.extend(set(_source_facts(path, name)["imports"]) - seen)
    return sorted(seen)


class _StripDocstrings(ast.NodeTransformer):
    def _strip(self, node):
        self.generic_visit(node)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
        return node

    visit_Module = visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _strip


def module_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a module's syntax tree without docstrings (comments never reach the tree)."""
    return _source_facts(Path(path))["digest"]


_FACTS: dict[str, dict] = {}


def _source_facts(path: Path, name: str | None = None) -> dict:
    """``{"digest": module digest, "imports": rnnlib modules it imports (if name is given)}`` of a file.

    Parsing the closure costs about a second per process (each chapter is one), so the facts are kept in
    ``__pycache__/rnnlib-digests``, keyed by SHA-256 of the bytes, Python version (``ast.dump`` differs)
    and name: an edited file has a new key. A memo that cannot be read or written is recomputed."""
    raw = path.read_bytes()
    head = f"v1\0{sys.version_info[0]}.{sys.version_info[1]}\0{name}\0{path.name}\0".encode()
    key = hashlib.sha256(head + raw).hexdigest()
    if key in _FACTS:
        return _FACTS[key]
    memo = PACKAGE_DIR / "__pycache__" / "rnnlib-digests" / f"{key}.json"
    try:
        facts = json.loads(memo.read_text(encoding="utf-8"))
        ok = len(str(facts["digest"])) == 64 and isinstance(facts["imports"], list) \
            and all(isinstance(i, str) for i in facts["imports"])
    except (OSError, ValueError, TypeError, KeyError):
        ok = False
    if not ok:
        tree = ast.parse(raw.decode("utf-8"), filename=str(path))
        imports = sorted(_imports(tree, name, path.name == "__init__.py")) if name is not None else []
        dump = ast.dump(_StripDocstrings().visit(tree), annotate_fields=False)
        facts = {"digest": hashlib.sha256(dump.encode()).hexdigest(), "imports": imports}
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=memo.parent, prefix=".tmp-", delete=False) as f:
                json.dump(facts, f)
            os.replace(f.name, memo)  # atomic: a reader sees no half-written memo
        except OSError:
            pass
    _FACTS[key] = facts
    return facts


_DIGESTS: dict[tuple[str, str], str] = {}


def code_digest(module: str = "experiment", package_dir: Path | None = None) -> str:
    """Digest (hex, 16 characters) of the code that ``module`` depends on.

    The SHA-256 of the docstring-free syntax trees of :func:`module_closure` of ``module``.
    Computed once per process (the source of a running process does not change under it).
    """
    package_dir = PACKAGE_DIR if package_dir is None else Path(package_dir)
    memo = (str(package_dir), module)
    if memo not in _DIGESTS:
        h = hashlib.sha256()
        names = module_closure(module, package_dir)
        if not module.startswith("rnnlib.") and _module_file(package_dir, module) is None:
            # a user's module (e.g. a measure hook): its own tree and the rnnlib modules it imports
            import importlib.util
            spec = importlib.util.find_spec(module)
            origin = getattr(spec, "origin", None)
            names = []
            if origin and origin.endswith(".py"):
                h.update(module.encode() + b"\0" + module_digest(origin).encode() + b"\0")
                tree = ast.parse(Path(origin).read_text(encoding="utf-8"))
                names = sorted({n for imp in _imports(tree, "", True) for n in module_closure(imp, package_dir)})
        for name in names:
            digest = _source_facts(_module_file(package_dir, name), name)["digest"]
            h.update(name.encode() + b"\0" + digest.encode() + b"\0")
        _DIGESTS[memo] = h.hexdigest()[:16]
    return _DIGESTS[memo]


def canonical_json(value: Any) -> str:
    """Sorted, compact JSON without NaN or infinity: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def payload_digest(payload: Any) -> str:
    """SHA-256 of :func:`canonical_json` of a payload (stored with each entry, checked on read)."""
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


# -- the cache -------------------------------------------------------------------------------

class Cache:
    """One cache directory (or ``None``: memory only).

    :meth:`load` returns a stored payload or ``None`` (warning if the entry is damaged);
    :meth:`store` writes one atomically, or warns and keeps it in memory if it cannot.
    """

    def __init__(self, directory: str | os.PathLike | None):
        self.directory = None if directory is None else Path(directory)
        self.memory: dict[str, tuple[dict, dict | None]] = {}
        self._warned_write = False
        if self.directory is not None:
            if self.directory.exists() and not self.directory.is_dir():
                raise ValueError(f"cache_dir must be a directory, got the file {self.directory}")
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                self._write_failed(f"cannot create it ({exc})")
                self.directory = None
            else:
                self._clean_stale_tmp()

    def path(self, key: str, suffix: str = ".json") -> Path:
        return self.directory / f"{key}{suffix}"

    # reading
    def load(self, key: str, kind: str) -> dict | None:
        """The payload stored under ``key`` for ``kind`` (checked against its digest), or ``None``."""
        if key in self.memory:
            return self.memory[key][0]
        if self.directory is None:
            return None
        path = self.path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            return self.reject(key, f"unreadable ({exc})")
        try:
            entry = json.loads(text)
        except json.JSONDecodeError as exc:
            return self.reject(key, f"not valid JSON ({exc.msg} at character {exc.pos})")
        except RecursionError:
            return self.reject(key, "JSON nested too deeply")
        if not isinstance(entry, dict) or entry.get("format") != CACHE_FORMAT:
            return self.reject(key, f"not an rnnlib result (no format tag {CACHE_FORMAT!r})")
        if entry.get("format_version") != CACHE_FORMAT_VERSION:
            return self.reject(key, f"cache format version {entry.get('format_version')!r}, "
                                    f"expected {CACHE_FORMAT_VERSION}")
        if entry.get("key") != key or entry.get("kind") != kind:
            return self.reject(key, "it belongs to another config, kind or code version")
        payload = entry.get("result")
        try:
            ok = isinstance(payload, dict) and entry.get("digest") == payload_digest(payload)
        except (ValueError, TypeError, RecursionError):
            ok = False
        if not ok:
            return self.reject(key, "its payload does not match its digest (edited or damaged)")
        return payload

    def load_arrays(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays stored beside ``key`` (checked against the digest in the entry), or ``None``."""
        if key in self.memory:
            return self.memory[key][1]
        if self.directory is None:
            return None
        try:
            entry = json.loads(self.path(key).read_text(encoding="utf-8"))
            data = self.path(key, ".npz").read_bytes()
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(entry, dict) or entry.get("arrays_digest") != hashlib.sha256(data).hexdigest():
            if isinstance(entry, dict) and entry.get("arrays_digest"):
                self.reject(key, "its arrays (.npz) do not match their digest")
            return None
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except (OSError, ValueError) as exc:
            return self.reject(key, f"its arrays do not load ({exc})")

    def reject(self, key: str, reason: str) -> None:
        where = self.path(key) if self.directory is not None else key
        warnings.warn(f"ignoring cache entry {where}: {reason}; recomputing it", CacheWarning, stacklevel=3)
        return None

    # writing
    def store(self, key: str, kind: str, payload: dict, arrays: Mapping[str, np.ndarray] | None = None,
              meta: Mapping | None = None) -> None:
        """Write one entry (and its arrays) atomically; on failure warn and keep it in memory."""
        self.memory.pop(key, None)
        if self.directory is None:
            self.memory[key] = (payload, dict(arrays) if arrays is not None else None)
            return
        try:
            entry = {"format": CACHE_FORMAT, "format_version": CACHE_FORMAT_VERSION, "key": key,
                     "kind": kind, "created": time.time(), **(meta or {}),
                     "digest": payload_digest(payload), "result": payload}
            blob = None
            if arrays is not None:
                buf = io.BytesIO()
                np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
                blob = buf.getvalue()
                entry["arrays_digest"] = hashlib.sha256(blob).hexdigest()
            text = json.dumps(entry, allow_nan=False)
        except ValueError as exc:
            raise ValueError(f"result of kind {kind!r} holds a non-finite number and cannot be cached "
                             f"as JSON: {exc}") from exc
        except RecursionError:
            self._write_failed("the result is nested too deeply for JSON")
            self.memory[key] = (payload, dict(arrays) if arrays is not None else None)
            return
        try:
            if blob is not None:  # arrays first: an entry never points at missing arrays
                self._atomic_write(self.path(key, ".npz"), blob)
            self._atomic_write(self.path(key), text.encode("utf-8"))
        except OSError as exc:
            self._write_failed(f"cannot write entry {key} ({exc})")
            self.memory[key] = (payload, dict(arrays) if arrays is not None else None)

    def _atomic_write(self, path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
        try:
            os.chmod(tmp, FILE_MODE)  # mkstemp makes 0600; entries are ordinary files
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def _write_failed(self, reason: str) -> None:
        if not self._warned_write:  # one warning per sweep, not one per point
            warnings.warn(f"cache {self.directory}: {reason}; keeping results in memory and going on",
                          CacheWarning, stacklevel=4)
            self._warned_write = True

    def _clean_stale_tmp(self) -> None:
        now = time.time()
        for tmp in self.directory.glob(".tmp-*"):
            try:
                if now - tmp.stat().st_mtime > STALE_TMP_SECONDS:
                    tmp.unlink()
            except OSError:
                pass


def cache_status(configs: Iterable, cache_dir: str | os.PathLike | None = None) -> list[bool]:
    """For each config (of any kind), whether the engine would read it from the cache (an entry that
    loads and validates).  For SGD runs with a ``measure`` hook see :func:`rnnlib.sweep.cache_status`."""
    from .engine import is_cached  # the engine builds keys; the cache only stores them
    return is_cached(configs, cache_dir)
