"""Numeric gradient checking: central differences, the relative error, and asserting checks.

Every function here calls ``f`` with the perturbed array as its argument, ``f(xp)``, where
``xp`` is a fresh float64 copy of ``x`` with one element moved by ``h``. So

- the caller's arrays are never modified, not even for a moment, and a function that writes
  into its input cannot spoil the next evaluation;
- ``f`` must use its argument: ``numeric_grad(lambda Wx: loss(x, Wx), Wx)``. (CS231n's helpers
  perturb ``x`` in place and call ``f`` without it, so a lambda that ignores its argument
  seems to work there, until a copy is made somewhere and every gradient comes out zero.)

Checks run in float64: with ``h = 1e-5`` the truncation error of a central difference is
about ``h**2 = 1e-10`` and the rounding error about ``1e-16 / h = 1e-11``, both far below the
default tolerance ``1e-7``; in float32 the rounding error alone would be ``1e-7 / h = 1e-2``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np

__all__ = [
    "numeric_grad",
    "numeric_grad_array",
    "rel_error",
    "assert_grad_close",
    "check_gradients",
]


def _plain(value) -> np.ndarray:
    """An array-like (or a torch tensor, detached and moved to the CPU) as a NumPy array."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _to_float64(value, what: str) -> np.ndarray:
    """A float64 copy of a real floating-point array; TypeError for ids, masks and complex."""
    array = _plain(value)
    if array.dtype.kind in "biu":
        raise TypeError(
            f"{what} has {array.dtype} dtype: a gradient exists only with respect to "
            "real-valued arrays (token ids, labels and masks cannot be perturbed)"
        )
    if array.dtype.kind != "f":
        raise TypeError(f"{what} should be a real floating-point array, got dtype {array.dtype}")
    return array.astype(np.float64)  # always a copy, so the caller's array is never shared


def _output(value) -> np.ndarray:
    """What f returned, as float64 (an integer result, e.g. a constant, is fine here)."""
    return np.asarray(_plain(value), dtype=np.float64)


def _perturbed(x: np.ndarray, h: float) -> Iterator[tuple[tuple[int, ...], np.ndarray, np.ndarray]]:
    """Yield ``(index, x + h e_index, x - h e_index)`` for every element, as fresh copies."""
    if not h > 0:
        raise ValueError(f"the step h must be positive, got {h!r}")
    for index in np.ndindex(x.shape):
        x_plus, x_minus = x.copy(), x.copy()
        x_plus[index] += h
        x_minus[index] -= h
        yield index, x_plus, x_minus


def _scalar_value(value) -> float:
    array = _output(value)
    if array.size != 1:
        raise ValueError(
            f"f returned an array of shape {array.shape}, not a scalar; "
            "use numeric_grad_array(f, x, dout) for array-valued functions"
        )
    return float(array.reshape(()))


def numeric_grad(f: Callable[[np.ndarray], float], x, h: float = 1e-5) -> np.ndarray:
    """Gradient of a scalar function by central differences, ``(f(x + h) - f(x - h)) / 2h``.

    Args:
        f: a function of one array, of the shape of ``x``, returning a scalar. It is called
            with the perturbed copy, so it must use its argument.
        x: the point, any shape; floating point (converted to a float64 copy).
        h: the step.

    Returns:
        df/dx, float64, shape of ``x``.

    Raises:
        TypeError: ``x`` has an integer or boolean dtype.
    """
    x = _to_float64(x, "x")
    grad = np.zeros_like(x)
    for index, x_plus, x_minus in _perturbed(x, h):
        grad[index] = (_scalar_value(f(x_plus)) - _scalar_value(f(x_minus))) / (2 * h)
    return grad


def numeric_grad_array(f: Callable[[np.ndarray], np.ndarray], x, dout, h: float = 1e-5) -> np.ndarray:
    """Vector-Jacobian product of an array function: the gradient of ``sum(f(x) * dout)``.

    This is what a backward pass computes from an upstream gradient ``dout``.

    Args:
        f: a function of one array, of the shape of ``x``, returning an array of the shape of
            ``dout``. It is called with the perturbed copy, so it must use its argument.
        x: the point, any shape; floating point.
        dout: the upstream gradient, shape of ``f(x)``.
        h: the step.

    Returns:
        float64, shape of ``x``.

    Raises:
        TypeError: ``x`` or ``dout`` has an integer or boolean dtype.
        ValueError: ``f`` returned an array whose shape is not that of ``dout``.
    """
    x = _to_float64(x, "x")
    dout = _to_float64(dout, "dout")
    grad = np.zeros_like(x)
    for index, x_plus, x_minus in _perturbed(x, h):
        out_plus, out_minus = _output(f(x_plus)), _output(f(x_minus))
        if out_plus.shape != dout.shape:
            # never broadcast: a (1, H) output against an (N, H) dout would pass silently
            raise ValueError(f"f returned shape {out_plus.shape} but dout has shape {dout.shape}")
        # difference first, then sum: subtracting the two large sums would lose digits
        grad[index] = np.sum((out_plus - out_minus) * dout) / (2 * h)
    return grad


def numeric_grad_array4(f: Callable[[np.ndarray], np.ndarray], x, dout, h: float = 1e-3) -> np.ndarray:
    """:func:`numeric_grad_array` by the fourth-order central difference
    ``(-f(x + 2h) + 8 f(x + h) - 8 f(x - h) + f(x - 2h)) / 12h``, whose error shrinks as h^4:
    precise enough to hold a hand-written backward pass to a relative error of 1e-8.
    """
    x = _to_float64(x, "x")
    dout = _to_float64(dout, "dout")
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        outputs = []
        for k in (2, 1, -1, -2):
            moved = x.copy()
            moved[index] += k * h
            outputs.append(_output(f(moved)))
            if outputs[-1].shape != dout.shape:
                raise ValueError(f"f returned shape {outputs[-1].shape} but dout has shape {dout.shape}")
        grad[index] = np.sum((-outputs[0] + 8 * outputs[1] - 8 * outputs[2] + outputs[3]) * dout) / (12 * h)
    return grad


def rel_error(a, b, eps: float = 1e-12) -> float:
    """The largest elementwise relative error, ``max_i |a_i - b_i| / max(|a_i| + |b_i|, eps)``.

    The error is 0 for equal elements and at most 1 for elements of the same sign; ``eps``
    keeps elements where both are zero from dividing by zero. Note that an element whose true
    value is 0 but which one side computes as 1e-11 (rounding noise) scores 1.

    Args:
        a: any shape.
        b: the shape of ``a``; never broadcast.
        eps: the smallest denominator.

    Returns:
        The maximum over elements (0.0 for empty arrays); NaN if either holds a NaN.

    Raises:
        ValueError: ``a`` and ``b`` have different shapes.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error needs arrays of one shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(_elementwise_error(a, b, eps)))


def _elementwise_error(a: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps)


def _transpose_hint(analytic: np.ndarray, numeric: np.ndarray, rtol: float = 1e-4) -> str | None:
    """Say so if ``analytic`` is the numeric gradient transposed, or laid out in another order.

    A square matrix product taken in the wrong order (``W @ dout`` for ``W.T @ dout``, a
    ``Wh`` where ``Wh.T`` belongs) gives the right shape and the transposed values; a reshape in
    the wrong order gives the right values in another layout.
    """
    def close(a, b):
        return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=1e-10 * np.max(np.abs(b), initial=1.0))

    if analytic.ndim == 2 and analytic.shape[0] == analytic.shape[1] and close(analytic, numeric.T):
        return ("yours is the numeric gradient transposed: a matrix product taken in the wrong order "
                "or with the wrong factor transposed (a square matrix hides this from the shapes); "
                "write down the shape of each factor of the chain rule")
    if analytic.ndim >= 2 and close(np.sort(analytic, axis=None), np.sort(numeric, axis=None)) \
            and not close(analytic, numeric):
        return ("yours holds the right numbers in the wrong places: a reshape or a transpose in the "
                "wrong order; check which axis each reshape flattens and undoes")
    return None


def _mistake_hint(analytic: np.ndarray, numeric: np.ndarray) -> str:
    """Name the likely mistake from the pattern of the error."""
    general = (
        "a gradient that is off by a constant factor often means a missing or extra scale "
        "(the 1/N of a mean, the 2 of a square, a sign); a zero gradient means the parameter's "
        "contribution never reached it (not accumulated with +=, overwritten, or not returned)"
    )
    if not np.any(analytic) and np.any(numeric):
        return f"your gradient is all zeros: {general}"
    transposed = _transpose_hint(analytic, numeric)
    if transposed:
        return transposed
    mask = np.abs(numeric) > 1e-8 * np.max(np.abs(numeric), initial=0.0)
    if mask.any():
        ratios = analytic[mask] / numeric[mask]
        ratio = float(np.median(ratios))
        if ratio != 0 and np.allclose(ratios, ratio, rtol=1e-4):
            return f"yours is {ratio:.4g} times the numeric gradient everywhere: {general}"
    return general


def assert_grad_close(name: str, analytic, numeric, tol: float = 1e-7) -> float:
    """Assert that an analytic gradient matches a numeric one: shape first, then relative error.

    Args:
        name: the gradient's name, e.g. ``"dWx"``; the message calls the array it is the
            gradient of ``Wx``.
        analytic: the gradient to check (any array-like), shape of the numeric one.
        numeric: the numeric gradient, e.g. from :func:`numeric_grad`.
        tol: the largest accepted :func:`rel_error`.

    Returns:
        The relative error.

    Raises:
        AssertionError: the shapes differ, or the relative error exceeds ``tol``; the message
            names the gradient, the error, the worst element's index and both values there.
    """
    if analytic is None:
        raise AssertionError(f"{name} is None: did you forget to return it?")
    analytic = _plain(analytic)
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic.dtype.kind not in "biuf":
        raise AssertionError(f"{name} should be a numeric array, got dtype {analytic.dtype}")
    of = name[1:] if name.startswith("d") and len(name) > 1 else "the numeric gradient"
    if analytic.shape != numeric.shape:
        raise AssertionError(
            f"{name} has shape {analytic.shape}, expected {numeric.shape} like {of}: "
            "a gradient always has the shape of the array it is taken with respect to"
            + ("; the right sizes in the wrong order suggest a missing transpose"
               if sorted(analytic.shape) == sorted(numeric.shape) else "")
        )
    analytic = analytic.astype(np.float64)
    error = rel_error(analytic, numeric)
    if error <= tol:
        return error
    if not np.all(np.isfinite(numeric)):
        raise AssertionError(f"the numeric gradient for {name} is not finite: f itself overflows here")
    if not np.all(np.isfinite(analytic)):
        raise AssertionError(f"{name} contains NaN or infinite values: look for an overflow")
    elementwise = _elementwise_error(analytic, numeric, 1e-12)
    worst = np.unravel_index(int(np.argmax(elementwise)), elementwise.shape)
    raise AssertionError(
        f"{name} is wrong: relative error {error:.2e} > {tol:.0e}; the worst element is at "
        f"index {tuple(int(i) for i in worst)}, where yours is {analytic[worst]:.6g} and the "
        f"numeric gradient {numeric[worst]:.6g}. Hint: {_mistake_hint(analytic, numeric)}"
    )


def check_gradients(
    f: Callable[..., float],
    inputs: Mapping[str, np.ndarray],
    analytic: Mapping[str, np.ndarray],
    tol: float = 1e-7,
) -> dict[str, float]:
    """Check analytic gradients of a scalar function of named inputs against numeric ones.

    For each name in ``analytic``, the numeric gradient of ``f(**inputs)`` with respect to
    ``inputs[name]`` (the other inputs held fixed) is compared with ``analytic[name]``, and
    reported as ``"d" + name``. Inputs without a gradient (token ids, labels) are passed unchanged.
    Every call of ``f`` receives fresh copies, so the caller's arrays are never modified.

    Args:
        f: called as ``f(**inputs)``, returns a scalar loss.
        inputs: name -> array, any shapes.
        analytic: name -> gradient, each the shape of ``inputs[name]``.
        tol: the largest accepted relative error.

    Returns:
        name -> relative error, in the order of ``analytic``.

    Raises:
        AssertionError: some gradients do not match; the message lists every wrong one
            (with its own diagnosis) and names the right ones.
        KeyError: a name in ``analytic`` is not one of ``inputs``.
    """
    unknown = [name for name in analytic if name not in inputs]
    if unknown:
        raise KeyError(f"gradients {unknown} have no input of that name; inputs are {list(inputs)}")
    # a private snapshot: f may write into its arguments or the caller may hold views
    frozen = {key: np.array(value, copy=True) for key, value in inputs.items()}

    def calls_with(name: str) -> Callable[[np.ndarray], float]:
        def f_of(value: np.ndarray) -> float:
            arguments = {key: array.copy() for key, array in frozen.items()}
            arguments[name] = value
            return f(**arguments)

        return f_of

    errors, wrong = {}, {}
    for name, gradient in analytic.items():  # every gradient, so one wrong dx hides nothing
        numeric = numeric_grad(calls_with(name), frozen[name])
        try:
            errors[name] = assert_grad_close(f"d{name}", gradient, numeric, tol)
        except AssertionError as failure:
            wrong[name] = str(failure)
    if wrong:
        lines = [f"{len(wrong)} of {len(analytic)} gradients are wrong:"]
        lines += [f"  - {message}" for message in wrong.values()]
        right = [f"d{name}" for name in errors]
        lines.append(f"  right: {', '.join(right)}" if right else "  right: none")
        raise AssertionError("\n".join(lines))
    return errors
