"""Visible checks: the checks a student runs in the notebook, right after each exercise.

Each topic module defines the small, fixed inputs of its checks (``visible_inputs``) and the
checks themselves. The expected outputs are stored in ``rnncourse/fixtures/<assignment>.npz``;
the grader computes them from the reference (``python -m autograder fixtures``) and a test
proves the stored file is up to date, so a visible check can never disagree with the grader.
"""
from __future__ import annotations

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
    with resources.as_file(path) as file, np.load(file) as data:
        return {key: data[key] for key in data.files}


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


def stored_cache(assignment: str, prefix: str, steps: bool = False):
    """The cache stored by :func:`flatten_cache`: a tuple, or with ``steps`` a list of tuples."""
    fixture = load_fixture(assignment)
    if steps:
        count = len({key[len(prefix) + 1:].split("/")[0] for key in fixture if key.startswith(prefix + "/")})
        return [stored_cache(assignment, f"{prefix}/{t}") for t in range(count)]
    count = len([key for key in fixture if key.rsplit("/", 1)[0] == prefix])
    return tuple(fixture[f"{prefix}/{k}"] for k in range(count))


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
            return f"cache[{k}] should be {name}: {failure}"
        if array.shape != want.shape or value_problem(name, array, want):
            return (f"cache[{k}] should be {name}, as the docstring documents the cache {layout}: "
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
