"""Visible checks: the checks a student runs in the notebook, right after each exercise.

Each topic module defines the small, fixed inputs of its checks (``visible_inputs``) and the
checks themselves. The expected outputs are stored in ``rnncourse/fixtures/<assignment>.npz``;
the grader computes them from the reference (``python -m autograder fixtures``) and a test
proves the stored file is up to date, so a visible check can never disagree with the grader.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import numpy as np

from rnncourse.compare import (
    CheckFailure,
    as_array,
    block_problem,
    expect,
    shape_problem,
    value_problem,
)


@lru_cache(maxsize=None)
def load_fixture(assignment: str) -> dict[str, np.ndarray]:
    """The expected outputs of the visible checks of ``assignment``, by ``"function/output"``."""
    path = resources.files("rnncourse") / "fixtures" / f"{assignment}.npz"
    with resources.as_file(path) as file, np.load(file, allow_pickle=False) as data:
        return unpack_fixture({key: data[key] for key in data.files})


# A fixture holds about a thousand small arrays; one .npz member each costs ~400 bytes of zip
# and .npy headers, more than the data. So the file holds one flat array per dtype and an index
# (key -> dtype, shape, offset; a hint's text in the index itself), compressed.
def pack_fixture(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``values`` as the members of a fixture file (see :func:`unpack_fixture`)."""
    index, flat = [], {}
    for key, value in values.items():
        array = np.asarray(value)
        if array.dtype.kind == "U":
            index.append([key, "text", str(array)])
            continue
        parts = flat.setdefault(array.dtype.name, [])  # "float64", "int64", "bool"
        offset = sum(part.size for part in parts)
        parts.append(array.ravel())
        index.append([key, array.dtype.name, list(array.shape), offset])
    members = {f"data {dtype}": np.concatenate(parts) for dtype, parts in flat.items()}
    return {"index": np.array(json.dumps(index)), **members}


def unpack_fixture(members: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays packed by :func:`pack_fixture`, by key, as they were stored."""
    values = {}
    for key, dtype, *where in json.loads(str(members["index"])):
        if dtype == "text":
            values[key] = np.array(where[0])
            continue
        shape, offset = where
        size = int(np.prod(shape, dtype=np.int64))
        values[key] = members[f"data {dtype}"][offset:offset + size].reshape(shape)
    return values


def spaced(low: float, high: float, *shape: int) -> np.ndarray:
    """Evenly spaced values from ``low`` to ``high``, shuffled by a permutation fixed by their
    count, so that nothing is monotone and no gate block copies another: the inputs of a check."""
    values = np.linspace(low, high, num=int(np.prod(shape)))
    return values[np.random.default_rng(len(values)).permutation(len(values))].reshape(shape)


def passed(name: str) -> None:
    """Tell the student that every visible check of ``name`` passed."""
    print(f"{name}: visible checks passed. The hidden checks try more shapes and edge cases.")


# ------------------------------------------------------------------ comparing every output
# The checks of notebooks 01 to 03 run one function on several fixed cases (a main one, and one
# of each edge case the hidden check draws: N = 1, T = 1, everything masked, ...); each case's
# expected outputs, the caches its backward is given, and the outputs of the hidden check's
# named mistakes on it are stored in the fixture under "<function>/<case>/...".

def flatten_cache(prefix: str, cache) -> dict[str, np.ndarray]:
    """A forward's cache (a tuple of arrays, or a list of such tuples) as fixture entries."""
    if isinstance(cache, list):
        return {key: value for t, step in enumerate(cache)
                for key, value in flatten_cache(f"{prefix}/{t}", step).items()}
    return {f"{prefix}/{k}": np.asarray(item) for k, item in enumerate(cache)}


def case_values(function: str, label: str, case: dict, args: tuple, result, outputs,
                own_cache: bool = False) -> dict[str, np.ndarray]:
    """The fixture entries of one visible case: each output of ``result``, the cache a backward
    case is given (its last argument), and with ``own_cache`` the forward's own cache (its last
    output), whose layout the visible check compares."""
    values = {f"{function}/{label}/{name}": np.asarray(result if index is None else result[index])
              for name, index, _ in outputs}
    if "forward" in case:
        values.update(flatten_cache(f"{function}/{label}/cache", args[-1]))
    elif own_cache:
        values.update(flatten_cache(f"{function}/{label}/cache", result[-1]))
    return values


def stored_cache(assignment: str, prefix: str, steps: bool = False):
    """The cache stored by :func:`flatten_cache`: a tuple, or with ``steps`` a list of tuples."""
    fixture = load_fixture(assignment)
    if steps:
        count = len({key[len(prefix) + 1:].split("/")[0] for key in fixture if key.startswith(prefix + "/")})
        return [stored_cache(assignment, f"{prefix}/{t}") for t in range(count)]
    count = len([key for key in fixture if key.rsplit("/", 1)[0] == prefix])
    return tuple(fixture[f"{prefix}/{k}"].copy() for k in range(count))  # a copy: the code under test may write into it


def likely_mistake(assignment: str, function: str, case: str, got: dict) -> str | None:
    """The hint of the hidden check's named mistake whose outputs on ``case`` all equal ``got``."""
    fixture = load_fixture(assignment)
    prefix = f"mistake/{function}/{case}/"
    for key in sorted({k[len(prefix):].split("/")[0] for k in fixture if k.startswith(prefix)}, key=int):
        stored = {name: fixture[f"{prefix}{key}/{name}"] for name in got}
        if all(_equal(got[name], stored[name]) for name in got):
            return str(fixture[f"{prefix}{key}/hint"])
    return None


def _equal(value, stored: np.ndarray) -> bool:
    try:
        array = as_array("output", value)
    except CheckFailure:
        return False
    return array.shape == stored.shape and value_problem("output", array, stored) is None


def verify_outputs(assignment: str, function: str, case: str, about: str, outputs, result,
                   where: dict[str, str], blocks: tuple[str, ...] = (), named: bool = True) -> None:
    """Compare every output of one call with the fixture; fail once, naming them all.

    Args:
        outputs: (name, index in the returned tuple or None, dimension letters) per output.
        result: what the function returned.
        where: output name -> where to look when it is wrong (a pointer, not the code).
        blocks: the names of the gate blocks stacked along a dimension named like "4H", so
            that a wrong (4H)-wide output says which blocks are wrong.
        named: look for a named mistake stored for ``case``.
    """
    indexed = [index for _, index, _ in outputs if index is not None]
    if indexed:
        count = max(indexed) + 1
        expect(isinstance(result, (tuple, list)) and len(result) >= count,
               f"{function} should return a tuple of at least {count} items, got {type(result).__name__}")
    got = {name: (result if index is None else result[index]) for name, index, _ in outputs}
    wrong, right = {}, []
    for name, _, letters in outputs:
        array = as_array(name, got[name])
        want = load_fixture(assignment)[f"{function}/{case}/{name}"]
        problem = shape_problem(name, array.shape, want.shape, letters) or value_problem(name, array, want)
        if problem and blocks and array.shape == want.shape:
            problem += block_problem(name, array, want, letters, blocks)
        if problem:
            wrong[name] = problem
        else:
            right.append(name)
    if not wrong:
        return
    lines = [f"{function} [{about}]: {len(wrong)} of {len(outputs)} outputs wrong"]
    lines += [f"  - {problem}. Look at: {where[name]}" for name, problem in wrong.items()]
    if right:
        lines.append(f"  right: {', '.join(right)}")
    likely = likely_mistake(assignment, function, case, got) if named else None
    if likely:
        lines.append(f"  Likely mistake: {likely}")
    raise CheckFailure("\n".join(lines))


def cache_problem(function: str, cache, names: tuple[str, ...], expected: tuple, backward: str) -> str | None:
    """What is wrong with the layout of a forward's cache, as its docstring documents it."""
    layout = f"({', '.join(names)})"
    if not isinstance(cache, (tuple, list)) or len(cache) != len(names):
        size = len(cache) if hasattr(cache, "__len__") else "?"
        return (f"the cache of {function} should be the tuple {layout} of {len(names)} items, got "
                f"{type(cache).__name__} of {size}: {backward} is checked and graded with a cache "
                "in the documented layout")
    for k, (name, item, want) in enumerate(zip(names, cache, expected)):
        try:
            array = as_array(name, item)
        except CheckFailure as failure:
            return f"the cache of {function}: cache[{k}] should be {name}: {failure}"
        if array.shape != want.shape or value_problem(name, array, want):
            return (f"the cache of {function}: cache[{k}] should be {name}, as the docstring documents "
                    f"the cache {layout}: "
                    f"{backward} is checked and graded with a cache in that layout")
    return None


def unpacking_failure(function: str, err: Exception, layout: str) -> CheckFailure | None:
    """A clear message for a backward that unpacks the documented cache in another layout."""
    text = str(err)
    if isinstance(err, (ValueError, TypeError, IndexError)) and (
            "unpack" in text or "index" in text or "not subscriptable" in text):
        return CheckFailure(f"{function} raised {type(err).__name__} ({text}) on a cache in the "
                            f"documented layout {layout}: does it read the cache in the layout your "
                            "forward builds instead? The forward's visible check tests that layout")
    return None


def run_cases(assignment: str, function: str, fn, cases: dict[str, tuple], outputs, where: dict[str, str],
              layout: str = "", blocks: tuple[str, ...] = ()):
    """Call ``fn`` on every case (label -> arguments, ``"main"`` first), verify every output of
    each (:func:`verify_outputs`), and return the main case's result.

    Args:
        layout: the documented layout of the cache the arguments hold, "(x, h_prev, ...)", if
            they hold one: a backward that reads it in another layout gets a clear message.
        blocks: the gate blocks of a stacked output (see :func:`verify_outputs`).
    """
    results = []
    for label, args in cases.items():
        try:
            with np.errstate(over="ignore"):  # exp(-a) may overflow to inf, which is harmless
                result = fn(*args)
        except (ValueError, TypeError, IndexError) as err:
            failure = unpacking_failure(function, err, layout) if layout else None
            if failure is None:
                raise
            raise failure from None
        verify_outputs(assignment, function, label, "the main case" if label == "main" else label,
                       outputs, result, where, blocks=blocks)
        results.append(result)
    return results[0]


def expect_cache(assignment: str, function: str, cache, names: tuple[str, ...], backward: str,
                 steps: int | None = None) -> None:
    """Check the layout of a forward's cache on the main case against the stored one: the
    tuple ``names``, or with ``steps`` a list of that many such step caches."""
    prefix = f"{function}/main/cache"
    if steps is None:
        problem = cache_problem(function, cache, names, stored_cache(assignment, prefix), backward)
        if problem:
            raise CheckFailure(problem)
        return
    expect(isinstance(cache, list) and len(cache) == steps,
           f"the cache of {function} should be a list of the T = {steps} step caches, got "
           f"{type(cache).__name__}: {backward} is graded with a cache in that layout")
    for t, step in enumerate(cache):
        problem = cache_problem(f"{function} (step {t})", step, names,
                                stored_cache(assignment, f"{prefix}/{t}"), backward)
        if problem:
            raise CheckFailure(problem)
