"""Plain data between the grader and a student's kernel: a JSON tree and a file of raw arrays.

Neither side ever unpickles what the other wrote. A tree node is a JSON scalar, or one of:
``{"i": "<digits>"}`` an int, ``{"f": "<repr>"}`` a float (nan and inf included),
``{"a": key}`` an array and ``{"g": key}`` a NumPy scalar (both stored under ``key``),
``{"t": [...]}`` a tuple, ``{"l": [...]}`` a list, ``{"d": [[key, value], ...]}`` a dict,
``{"r": <tree>}`` a ``numpy.random.Generator`` (its bit generator's state, a plain dict; only
NumPy's own bit generators), and ``{"o": "<type name>"}`` anything else, of which only the
type's name crosses.

One more kind, ``{"w": [name, tree]}``, carries a course object that has behaviour but is fully
described by data (notebook 06's toy step function for beam search, ``rnncourse.beam.TableStep``):
it crosses as its data and is rebuilt by its own class, named in :data:`REBUILT`; no other class
can be named, so nothing else is ever constructed from what crosses.

On disk, one record is ``<name>.bin``, the arrays' bytes one after another, and ``<name>.json``,
``{"tree": tree, "arrays": [[key, dtype, shape, offset, size], ...]}``, written last. An array
is read back with ``numpy.frombuffer`` after its dtype (no objects), shape and place in the
file are checked: nothing is unpickled, and nothing but the described bytes is read. (An .npz
did the same job through a zip archive, with a header parsed per array.)
"""
from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
from pathlib import Path

import numpy as np

MAX_DEPTH = 32
MAX_NODES = 100_000
# A Generator crosses as the state of one of these bit generators, rebuilt on the other side.
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")
# name -> (module, class) of the objects rebuilt from their data (to_data / from_data)
REBUILT = {"TableStep": ("rnncourse.beam", "TableStep")}


def _rebuilt_class(name: str):
    module, attr = REBUILT[name]
    return getattr(importlib.import_module(module), attr)


class Opaque:
    """Stands for a value that is not plain data; only its type name crosses the boundary."""

    def __init__(self, type_name: str):
        self.type_name = type_name


def encode(value, arrays: dict, depth: int = 0):
    """A JSON-able tree for ``value``, its arrays stored in ``arrays`` under generated keys.

    Arrays (and anything with ``__array__``, torch tensors included) become plain arrays;
    tuples, lists and dicts keep their form; anything else becomes its type name only.
    """
    if depth > MAX_DEPTH or len(arrays) > MAX_NODES:
        return {"o": "too deeply nested"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return {"i": str(int(value))}  # exact, however large
    if isinstance(value, float):
        return {"f": repr(float(value))}  # nan and inf survive
    if isinstance(value, np.generic):
        return _store(np.asarray(value), arrays, "g")
    if isinstance(value, (tuple, list)):
        kind = "t" if isinstance(value, tuple) else "l"
        return {kind: [encode(item, arrays, depth + 1) for item in value]}
    if isinstance(value, dict):
        return {"d": [[encode(k, arrays, depth + 1), encode(v, arrays, depth + 1)]
                      for k, v in value.items()]}
    if isinstance(value, np.random.Generator):  # a function may take its randomness as rng
        state = value.bit_generator.state
        if state.get("bit_generator") in BIT_GENERATORS:
            return {"r": encode(state, arrays, depth + 1)}
        return {"o": "Generator"}
    name = type(value).__name__
    if name in REBUILT and type(value).__module__ == REBUILT[name][0]:
        return {"w": [name, encode(value.to_data(), arrays, depth + 1)]}
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        try:
            value = value.detach().cpu().numpy()
        except Exception:
            return {"o": type(value).__name__}
    if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
        try:
            array = np.array(value, copy=True, subok=False)
        except Exception:
            return {"o": type(value).__name__}
        if array.dtype.hasobject:
            return {"o": f"{type(value).__name__} of objects"}
        return _store(array, arrays, "a")
    return {"o": type(value).__name__}


def digest(tree, arrays: dict) -> str:
    """A digest of plain data made by :func:`encode`: equal for equal trees with equal arrays
    (dtype, shape and bytes)."""
    hashed = hashlib.sha256(json.dumps(tree, sort_keys=True).encode())
    for key, array in arrays.items():  # in the order encode met them, which the tree names
        array = np.ascontiguousarray(array)
        hashed.update(f"|{key}:{array.dtype.str}:{array.shape}|".encode())
        hashed.update(array.tobytes())
    return hashed.hexdigest()


def _store(array: np.ndarray, arrays: dict, kind: str) -> dict:
    key = f"a{len(arrays)}"
    arrays[key] = array
    return {kind: key}


def decode(node, arrays, depth: int = 0):
    """The value of a tree made by :func:`encode`; raises ValueError on anything else."""
    if depth > MAX_DEPTH + 1:
        raise ValueError("nested too deeply")
    if node is None or isinstance(node, (bool, str)):
        return node
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"not a plain-data node: {type(node).__name__}")
    (kind, body), = node.items()
    if kind == "i":
        return int(body)
    if kind == "f":
        return float(body)
    if kind in ("a", "g"):
        array = arrays[body]
        return array[()] if kind == "g" else array
    if kind in ("t", "l"):
        items = [decode(item, arrays, depth + 1) for item in body]
        return tuple(items) if kind == "t" else items
    if kind == "d":
        return {_key(decode(k, arrays, depth + 1)): decode(v, arrays, depth + 1) for k, v in body}
    if kind == "r":
        return _generator(decode(body, arrays, depth + 1))
    if kind == "o":
        return Opaque(str(body))
    if kind == "w" and isinstance(body, list) and len(body) == 2 and body[0] in REBUILT:
        return _rebuilt_class(body[0]).from_data(decode(body[1], arrays, depth + 1))
    raise ValueError(f"unknown node kind {kind!r}")


def _generator(state) -> np.random.Generator:
    """A Generator in ``state``, made only from NumPy's own bit generators."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in BIT_GENERATORS:
        raise ValueError(f"not a NumPy bit generator: {str(name)[:40]}")
    bit_generator = getattr(np.random, name)()
    bit_generator.state = state  # NumPy checks every field
    return np.random.Generator(bit_generator)


def _key(key):
    if isinstance(key, (str, int, float, bool, type(None))):
        return key
    if isinstance(key, np.generic):
        return key.item()
    raise ValueError(f"a dict key of type {type(key).__name__}")


ALIGN = 64  # each array starts at a multiple of this many bytes


def write_data(path: Path, tree, arrays: dict) -> None:
    """Write ``path``.bin then ``path``.json (the JSON last: its presence means complete)."""
    path = Path(path)
    index, chunks, offset = [], [], 0
    for key, array in arrays.items():
        array = np.asarray(array)
        pad = -offset % ALIGN
        chunks += [b"\0" * pad, array.tobytes()]
        offset += pad
        index.append([key, array.dtype.str, list(array.shape), offset, array.nbytes])
        offset += array.nbytes
    path.with_suffix(".bin.tmp").write_bytes(b"".join(chunks))
    os.replace(path.with_suffix(".bin.tmp"), path.with_suffix(".bin"))
    path.with_suffix(".json.tmp").write_text(json.dumps({"tree": tree, "arrays": index}))
    os.replace(path.with_suffix(".json.tmp"), path.with_suffix(".json"))


def load_data(path: Path, max_bytes: int) -> tuple[object, dict]:
    """The tree and the arrays of the record at ``path``, not decoded; never unpickles anything.

    Raises:
        ValueError: a file is missing, too large, not a regular file, or not plain data.
    """
    path = Path(path)
    record = json.loads(_read_regular(path.with_suffix(".json"), max_bytes).decode("utf-8"))
    if not isinstance(record, dict) or set(record) != {"tree", "arrays"} or not isinstance(record["arrays"], list):
        raise ValueError("not a plain-data record")
    raw = bytearray(_read_regular(path.with_suffix(".bin"), max_bytes))  # writable, as a call's inputs are
    arrays = {}
    for entry in record["arrays"][:MAX_NODES + 1]:
        key, dtype, shape, offset, size = _entry(entry)
        count = math.prod(shape)  # exact: no overflow to make a huge shape look small
        if offset + size > len(raw) or size != dtype.itemsize * count:
            raise ValueError(f"array {key[:40]} does not fit its description")
        arrays[key] = np.frombuffer(raw, dtype, count, offset).reshape(shape) if count else np.empty(shape, dtype)
    return record["tree"], arrays


def _entry(entry) -> tuple[str, np.dtype, tuple[int, ...], int, int]:
    """One array's description, checked: a name, a dtype without objects, a shape, a place."""
    if not (isinstance(entry, list) and len(entry) == 5 and isinstance(entry[0], str)
            and isinstance(entry[1], str) and isinstance(entry[2], list)
            and all(type(n) is int and n >= 0 for n in (*entry[2], entry[3], entry[4]))
            and len(entry[2]) <= MAX_DEPTH):
        raise ValueError("an array's description is not plain data")
    try:
        dtype = np.dtype(entry[1])
    except TypeError:
        raise ValueError(f"not a dtype: {entry[1][:40]}") from None
    if dtype.hasobject or dtype.itemsize == 0:
        raise ValueError("an array of objects, or of empty items, is not data")
    return entry[0], dtype, tuple(entry[2]), entry[3], entry[4]


def read_data(path: Path, max_bytes: int) -> dict:
    """The record at ``path`` with its values decoded (see :func:`load_data`).

    Raises:
        ValueError: a file is missing, too large, not a regular file, or not plain data.
    """
    tree, arrays = load_data(path, max_bytes)
    if not isinstance(tree, dict):
        raise ValueError("not a plain-data record")
    return {key: decode(value, arrays) if key in ("value", "args", "kwargs") else value
            for key, value in tree.items()}


def _read_regular(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file (no symlink followed), refusing files over ``max_bytes``."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
        if not (info.st_mode & 0o170000) == 0o100000:
            raise ValueError(f"{path.name} is not a regular file")
        if info.st_size > max_bytes:
            raise ValueError(f"{path.name} is larger than {max_bytes} bytes")
        with os.fdopen(fd, "rb", closefd=False) as file:
            return file.read(info.st_size)  # not max_bytes: read() would allocate that much first
    finally:
        os.close(fd)
