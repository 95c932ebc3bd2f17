"""The seeded long-range tasks of rnncourse.tasks."""
import numpy as np
import pytest

from rnncourse.tasks import adding_problem, one_hot, recall_first


def test_recall_first_labels_are_the_first_tokens_and_the_rest_are_distractors():
    ids, y = recall_first(500, 12, n_symbols=3, n_distractors=5, seed=4)
    assert ids.shape == (500, 12) and y.shape == (500,)
    assert ids.dtype == np.int64 and y.dtype == np.int64
    np.testing.assert_array_equal(y, ids[:, 0])
    assert set(np.unique(y)) == {0, 1, 2}  # every class occurs
    assert set(np.unique(ids[:, 1:])) == set(range(3, 8))  # distractors only, every one occurs


def test_recall_first_returns_a_label_array_of_its_own():
    ids, y = recall_first(5, 4, seed=0)
    y[:] = -1
    assert np.all(ids[:, 0] >= 0)


def test_recall_first_with_one_step_is_just_the_symbol():
    ids, y = recall_first(7, 1, seed=1)
    assert ids.shape == (7, 1)
    np.testing.assert_array_equal(ids[:, 0], y)


@pytest.mark.parametrize("task, args", [(recall_first, (20, 6)), (adding_problem, (20, 6))])
def test_tasks_are_reproducible_from_the_seed(task, args):
    first, second, other = task(*args, seed=3), task(*args, seed=3), task(*args, seed=4)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("task, args", [(recall_first, (20, 6)), (adding_problem, (20, 6))])
def test_a_generator_continues_its_stream(task, args):
    rng = np.random.default_rng(9)
    first, second = task(*args, seed=rng), task(*args, seed=rng)
    assert not np.array_equal(first[0], second[0])  # two batches, not the same batch twice
    again = np.random.default_rng(9)
    np.testing.assert_array_equal(task(*args, seed=again)[0], first[0])


def test_adding_problem_marks_one_number_in_each_half_and_sums_them():
    T = 9
    x, y = adding_problem(2000, T, seed=0)
    assert x.shape == (2000, T, 2) and y.shape == (2000,) and x.dtype == y.dtype == np.float64
    markers = x[:, :, 1]
    assert set(np.unique(markers)) == {0.0, 1.0}
    assert np.all(markers[:, : T // 2].sum(axis=1) == 1) and np.all(markers[:, T // 2:].sum(axis=1) == 1)
    np.testing.assert_allclose(y, (x[:, :, 0] * markers).sum(axis=1), rtol=1e-15)
    assert x[:, :, 0].min() >= 0 and x[:, :, 0].max() < 1
    # every position of each half is marked sometimes: the first marker can be T - 1 steps back
    assert set(np.flatnonzero(markers.sum(axis=0))) == set(range(T))


def test_adding_problem_baseline_error_is_one_sixth():
    # answering 1 (the mean sum) has an expected squared error Var(u1 + u2) = 2 / 12
    _, y = adding_problem(40_000, 10, seed=1)
    assert np.mean((y - 1) ** 2) == pytest.approx(1 / 6, abs=0.005)


def test_adding_problem_shortest_sequence_marks_both_steps():
    x, y = adding_problem(5, 2, seed=2)
    np.testing.assert_array_equal(x[:, :, 1], np.ones((5, 2)))
    np.testing.assert_allclose(y, x[:, :, 0].sum(axis=1))


@pytest.mark.parametrize("call", [lambda: recall_first(3, 0), lambda: recall_first(3, 4, n_symbols=1),
                                  lambda: recall_first(3, 4, n_distractors=0),
                                  lambda: adding_problem(3, 1), lambda: adding_problem(-1, 4)])
def test_impossible_sizes_are_refused(call):
    with pytest.raises(ValueError):
        call()


def test_one_hot():
    ids = np.array([[0, 2], [1, 1]])
    out = one_hot(ids, 3)
    assert out.shape == (2, 2, 3) and out.dtype == np.float64
    np.testing.assert_array_equal(out.argmax(axis=-1), ids)
    np.testing.assert_array_equal(out.sum(axis=-1), np.ones((2, 2)))
    with pytest.raises(ValueError):
        one_hot(np.array([3]), 3)
    with pytest.raises(TypeError):
        one_hot(np.array([0.5]), 3)
