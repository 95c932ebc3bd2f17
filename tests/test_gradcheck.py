"""rnncourse.gradcheck: numeric gradients, the relative error, and the asserting checks."""
import re

import numpy as np
import pytest

from rnncourse.gradcheck import (
    assert_grad_close,
    check_gradients,
    numeric_grad,
    numeric_grad_array,
    rel_error,
)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


class Recorder:
    """A function that records a copy of every argument it is called with."""

    def __init__(self, f):
        self.f = f
        self.seen = []

    def __call__(self, x):
        self.seen.append(np.array(x, copy=True))
        return self.f(x)


def assert_every_call_differs(recorder):
    """Each call saw a different perturbed array: the function really received its argument."""
    seen = recorder.seen
    assert len(seen) >= 2
    for k in range(len(seen)):
        for j in range(k + 1, len(seen)):
            assert not np.array_equal(seen[k], seen[j]), f"calls {k} and {j} got the same array"


# --- numeric_grad ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "f, df",
    [
        (lambda x: np.sum(x**2), lambda x: 2 * x),
        (lambda x: np.sum(np.sin(x)), np.cos),
        (lambda x: np.sum(np.exp(x) * x), lambda x: np.exp(x) * (x + 1)),
    ],
    ids=["square", "sin", "x_exp"],
)
def test_numeric_grad_of_known_functions(rng, f, df):
    x = rng.normal(size=(3, 4))
    assert np.allclose(numeric_grad(f, x), df(x), rtol=0, atol=1e-8)


def test_numeric_grad_of_a_matrix_product_wrt_each_factor(rng):
    A, B, G = rng.normal(size=(3, 4)), rng.normal(size=(4, 5)), rng.normal(size=(3, 5))
    # L = sum((A @ B) * G): dL/dA = G @ B.T and dL/dB = A.T @ G
    dA = numeric_grad(lambda A_: np.sum((A_ @ B) * G), A)
    dB = numeric_grad(lambda B_: np.sum((A @ B_) * G), B)
    assert np.allclose(dA, G @ B.T, rtol=0, atol=1e-8)
    assert np.allclose(dB, A.T @ G, rtol=0, atol=1e-8)


def test_numeric_grad_returns_float64_of_the_shape_of_x_even_from_float32(rng):
    x = rng.normal(size=(2, 3)).astype(np.float32)
    grad = numeric_grad(lambda v: np.sum(v**2), x)
    assert grad.dtype == np.float64 and grad.shape == (2, 3)
    assert np.allclose(grad, 2 * x.astype(np.float64), atol=1e-8)


def test_numeric_grad_handles_scalars_and_constant_results():
    assert np.isclose(numeric_grad(lambda v: v**3, np.array(2.0)), 12.0)
    assert np.array_equal(numeric_grad(lambda v: 7, np.ones(3)), np.zeros(3))


def test_numeric_grad_leaves_x_alone_and_passes_the_perturbed_array(rng):
    x = rng.normal(size=(2, 3))
    saved = x.copy()
    f = Recorder(lambda v: np.sum(v**2))
    numeric_grad(f, x)
    assert np.array_equal(x, saved)
    assert len(f.seen) == 2 * x.size
    assert_every_call_differs(f)
    # each call differs from x in exactly one element, by h
    assert all(np.count_nonzero(seen != x) == 1 for seen in f.seen)


def test_numeric_grad_is_not_spoiled_by_a_function_that_writes_into_its_argument(rng):
    x = rng.normal(size=5)
    saved = x.copy()

    def destructive(v):
        value = np.sum(v**2)
        v[:] = 0.0
        return value

    assert np.allclose(numeric_grad(destructive, x), 2 * saved, atol=1e-8)
    assert np.array_equal(x, saved)


def test_numeric_grad_rejects_integer_and_boolean_inputs():
    with pytest.raises(TypeError, match="int64"):
        numeric_grad(lambda v: np.sum(v), np.arange(3))
    with pytest.raises(TypeError, match="bool"):
        numeric_grad(lambda v: np.sum(v), np.array([True, False]))


def test_numeric_grad_asks_for_a_scalar():
    with pytest.raises(ValueError, match="numeric_grad_array"):
        numeric_grad(lambda v: v * 2, np.ones(3))


# --- numeric_grad_array ---------------------------------------------------------------------

def test_numeric_grad_array_is_the_vector_jacobian_product(rng):
    x, W = rng.normal(size=(3, 4)), rng.normal(size=(4, 5))
    dout = rng.normal(size=(3, 5))
    # out = tanh(x @ W): dx = (dout * (1 - out**2)) @ W.T
    out = np.tanh(x @ W)
    expected = (dout * (1 - out**2)) @ W.T
    assert np.allclose(numeric_grad_array(lambda v: np.tanh(v @ W), x, dout), expected, atol=1e-8)


def test_numeric_grad_array_leaves_its_inputs_alone_and_uses_its_argument(rng):
    x, dout = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    saved_x, saved_dout = x.copy(), dout.copy()
    f = Recorder(lambda v: v**2)
    assert np.allclose(numeric_grad_array(f, x, dout), 2 * x * dout, atol=1e-8)
    assert np.array_equal(x, saved_x) and np.array_equal(dout, saved_dout)
    assert_every_call_differs(f)


def test_numeric_grad_array_never_broadcasts_the_output_against_dout(rng):
    x = rng.normal(size=(3, 4))
    with pytest.raises(ValueError, match=r"\(1, 4\).*\(3, 4\)"):
        numeric_grad_array(lambda v: v.sum(axis=0, keepdims=True), x, np.ones((3, 4)))


def test_numeric_grad_array_rejects_integer_inputs():
    with pytest.raises(TypeError):
        numeric_grad_array(lambda v: v, np.arange(3), np.ones(3))


# --- rel_error ------------------------------------------------------------------------------

def test_rel_error_follows_its_formula():
    a = np.array([1.0, 2.0, 0.0, -1.0])
    b = np.array([1.0, 1.0, 0.0, 1.0])
    # elementwise: 0, 1/3, 0/eps = 0, 2/2 = 1
    assert rel_error(a, b) == 1.0
    assert rel_error(a[:2], b[:2]) == pytest.approx(1 / 3)
    assert rel_error(np.array([1e-13]), np.array([0.0])) == pytest.approx(0.1)  # eps = 1e-12
    assert rel_error(np.array([1e-13]), np.array([0.0]), eps=1e-10) == pytest.approx(1e-3)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert isinstance(rel_error([1.0], [1.0]), float)


def test_rel_error_never_broadcasts():
    with pytest.raises(ValueError, match=r"\(3,\).*\(1, 3\)"):
        rel_error(np.ones(3), np.ones((1, 3)))


# --- assert_grad_close ----------------------------------------------------------------------

def test_assert_grad_close_returns_the_error_of_a_right_gradient(rng):
    W = rng.normal(size=(4, 3))
    numeric = numeric_grad(lambda v: np.sum(v**2), W)
    error = assert_grad_close("dW", 2 * W, numeric)
    assert 0 <= error < 1e-7
    assert assert_grad_close("dW", (2 * W).tolist(), numeric) == error  # array-likes are fine


def test_assert_grad_close_names_the_worst_element(rng):
    numeric = rng.normal(size=(4, 3))
    analytic = numeric.copy()
    analytic[2, 1] += 0.5
    with pytest.raises(AssertionError) as info:
        assert_grad_close("dWx", analytic, numeric)
    message = str(info.value)
    assert "dWx" in message and "relative error" in message
    assert "(2, 1)" in message
    assert f"{analytic[2, 1]:.6g}" in message and f"{numeric[2, 1]:.6g}" in message
    assert "constant factor" in message and "zero gradient" in message


def test_assert_grad_close_spots_a_constant_factor_and_a_zero_gradient(rng):
    numeric = rng.normal(size=(3, 2))
    with pytest.raises(AssertionError, match="2 times"):
        assert_grad_close("db", 2 * numeric, numeric)
    with pytest.raises(AssertionError, match="all zeros"):
        assert_grad_close("db", np.zeros_like(numeric), numeric)


def test_assert_grad_close_checks_the_shape_first():
    with pytest.raises(AssertionError, match=re.escape("dWx has shape (3, 4), expected (4, 3) like Wx: ")):
        assert_grad_close("dWx", np.ones((3, 4)), np.ones((4, 3)))
    # a (1, 3) gradient would broadcast against (4, 3): it must be a shape error, not a pass
    with pytest.raises(AssertionError, match="shape"):
        assert_grad_close("db", np.ones((1, 3)), np.ones((4, 3)))


def test_assert_grad_close_explains_none_and_nan():
    with pytest.raises(AssertionError, match="None"):
        assert_grad_close("dh", None, np.ones(2))
    with pytest.raises(AssertionError, match="NaN"):
        assert_grad_close("dh", np.array([np.nan, 1.0]), np.ones(2))


def test_assert_grad_close_does_not_modify_its_arguments(rng):
    analytic, numeric = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    saved = analytic.copy(), numeric.copy()
    with pytest.raises(AssertionError):
        assert_grad_close("dx", analytic, numeric)
    assert np.array_equal(analytic, saved[0]) and np.array_equal(numeric, saved[1])


# --- check_gradients ------------------------------------------------------------------------

def affine_loss(x, W, b, y):
    """Sum of squares of an affine layer's error; y is an integer array (ids)."""
    return np.sum((x @ W + b - y) ** 2)


def affine_grads(x, W, b, y):
    dout = 2 * (x @ W + b - y)
    return {"x": dout @ W.T, "W": x.T @ dout, "b": dout.sum(axis=0)}


@pytest.fixture
def affine_inputs(rng):
    return {
        "x": rng.normal(size=(3, 4)),
        "W": rng.normal(size=(4, 2)),
        "b": rng.normal(size=2),
        "y": rng.integers(0, 3, size=(3, 2)),
    }


def test_check_gradients_passes_right_gradients_and_leaves_the_inputs_alone(affine_inputs):
    saved = {key: value.copy() for key, value in affine_inputs.items()}
    analytic = affine_grads(**affine_inputs)
    saved_analytic = {key: value.copy() for key, value in analytic.items()}
    errors = check_gradients(affine_loss, affine_inputs, analytic)
    assert list(errors) == ["x", "W", "b"]
    assert all(error < 1e-7 for error in errors.values())
    for key in saved:
        assert np.array_equal(affine_inputs[key], saved[key]), key
        assert affine_inputs[key].dtype == saved[key].dtype
    for key in saved_analytic:
        assert np.array_equal(analytic[key], saved_analytic[key])


def test_check_gradients_is_safe_from_a_function_that_writes_into_its_inputs(affine_inputs):
    saved = {key: value.copy() for key, value in affine_inputs.items()}
    analytic = affine_grads(**affine_inputs)

    def destructive(x, W, b, y):
        value = affine_loss(x, W, b, y)
        x[:] = W[:] = b[:] = y[:] = 0
        return value

    check_gradients(destructive, affine_inputs, analytic)
    for key in saved:
        assert np.array_equal(affine_inputs[key], saved[key]), key


def test_check_gradients_reports_every_wrong_gradient_and_every_right_one(affine_inputs):
    analytic = affine_grads(**affine_inputs)
    analytic["W"] = analytic["W"] * 0.5
    with pytest.raises(AssertionError) as info:
        check_gradients(affine_loss, affine_inputs, analytic)
    message = str(info.value)
    assert message.startswith("1 of 3 gradients are wrong")
    assert "dW is wrong" in message and "0.5 times" in message
    assert "right: dx, db" in message
    analytic["x"] = analytic["x"].T  # dx wrong too: it no longer hides dW
    with pytest.raises(AssertionError) as info:
        check_gradients(affine_loss, affine_inputs, analytic)
    message = str(info.value)
    assert message.startswith("2 of 3 gradients are wrong")
    assert "dx has shape" in message and "dW is wrong" in message and "right: db" in message


def test_a_transposed_square_gradient_is_named_as_a_transpose(rng):
    # L = sum((x @ W) * G) with W square: dW = x.T @ G, and G.T @ x is its transpose
    x, W, G = rng.normal(size=(5, 3)), rng.normal(size=(3, 3)), rng.normal(size=(5, 3))
    numeric = numeric_grad(lambda V: np.sum((x @ V) * G), W)
    with pytest.raises(AssertionError, match="transposed") as info:
        assert_grad_close("dW", G.T @ x, numeric)
    assert "constant factor" not in str(info.value)
    # a constant factor and a sign are still named as such, not as a transpose
    with pytest.raises(AssertionError, match="-1 times"):
        assert_grad_close("dW", -numeric, numeric)


def test_a_gradient_in_another_layout_is_named(rng):
    numeric = rng.normal(size=(2, 3, 4))
    shuffled = numeric.transpose(1, 0, 2).reshape(2, 3, 4)  # a reshape in the wrong order
    with pytest.raises(AssertionError, match="right numbers in the wrong places"):
        assert_grad_close("dx", shuffled, numeric)
    with pytest.raises(AssertionError) as info:  # unrelated values get no such claim
        assert_grad_close("dx", rng.normal(size=(2, 3, 4)), numeric)
    assert "wrong places" not in str(info.value) and "transposed" not in str(info.value)


def test_check_gradients_rejects_unknown_names_and_integer_inputs(affine_inputs):
    with pytest.raises(KeyError, match="Wh"):
        check_gradients(affine_loss, affine_inputs, {"Wh": np.zeros((4, 2))})
    with pytest.raises(TypeError, match="int"):
        check_gradients(affine_loss, affine_inputs, {"y": np.zeros((3, 2))})


def test_the_fourth_order_difference_is_far_more_precise_than_the_central_one():
    from rnncourse.gradcheck import numeric_grad_array, numeric_grad_array4

    x = np.linspace(-2, 2, 7)
    dout = np.linspace(1, 2, 7)
    exact = np.cos(x) * dout
    fourth = numeric_grad_array4(np.sin, x, dout, h=1e-2)
    second = numeric_grad_array(np.sin, x, dout, h=1e-2)
    assert np.max(np.abs(fourth - exact)) < 1e-9 < np.max(np.abs(second - exact))
