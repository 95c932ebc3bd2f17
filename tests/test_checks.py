"""rnncourse.compare: the shape-then-value comparison shared by visible and hidden checks."""
import numpy as np
import pytest

from rnncourse.compare import CheckFailure, as_array, expect, expect_array, shape_problem, value_problem


def test_as_array_accepts_array_likes_and_strips_subclasses():
    class Sub(np.ndarray):
        pass

    assert type(as_array("h", np.zeros(3).view(Sub))) is np.ndarray
    assert as_array("h", [[1, 2]]).shape == (1, 2)


@pytest.mark.parametrize("value, words", [(None, "forget to return"), ("abc", "numeric"),
                                          ({"a": 1}, "numeric"), (object(), "numeric")])
def test_as_array_rejects_what_is_not_numeric(value, words):
    with pytest.raises(CheckFailure, match=words):
        as_array("h", value)


def test_shape_problem_names_letters_and_the_likely_cause():
    assert shape_problem("h", (3, 4), (3, 4), "NH") is None
    message = shape_problem("next_h", (4, 3), (3, 4), "NH")
    assert message.startswith("next_h has shape (4, 3), expected (N, H) = (3, 4)")
    assert "wrong order" in message
    assert "reshape" in shape_problem("h", (2, 6), (3, 4))
    assert "3 dimensions instead of 2" in shape_problem("h", (3, 4, 1, 1)[:3], (3, 5))


def test_value_problem_uses_the_tolerance_of_the_submitted_dtype():
    rng = np.random.default_rng(0)
    expected = rng.normal(size=(5, 6))
    assert value_problem("h", expected.astype(np.float32), expected) is None
    assert value_problem("h", expected + 1e-12, expected) is None
    off = expected.copy()
    off[2, 3] += 0.1
    message = value_problem("h", off, expected)
    assert "1 of 30 elements" in message and "(2, 3)" in message
    # float32 precision is not good enough for a float64 answer that is off by 1e-3
    assert value_problem("h", expected * (1 + 1e-3), expected) is not None


def test_value_problem_explains_nan_and_scalars():
    assert "NaN" in value_problem("loss", np.array(np.nan), np.array(1.0))
    assert value_problem("loss", np.array(2.0), np.array(1.0)) == "loss has the wrong value"


def test_expect_array_checks_shape_before_values_and_adds_the_hint():
    expected = np.ones((2, 3))
    with pytest.raises(CheckFailure, match=r"shape \(3, 2\).*\. look at the matmul"):
        expect_array("h", np.ones((3, 2)), expected, "NH", hint="look at the matmul")
    # a (1, 3) answer would broadcast against (2, 3) in np.allclose; here it is a shape error
    with pytest.raises(CheckFailure, match="shape"):
        expect_array("h", np.ones((1, 3)), expected)
    assert expect_array("h", expected.tolist(), expected).shape == (2, 3)


def test_expect():
    expect(True, "never raised")
    with pytest.raises(CheckFailure, match="what went wrong"):
        expect(False, "what went wrong")
