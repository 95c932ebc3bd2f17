"""The fixture files: packed (one flat array per dtype and an index) and compressed, read back
exactly as computed; the student package computes none of the sampling probabilities."""
import inspect

import numpy as np

from rnncourse.visible import load_fixture, pack_fixture, unpack_fixture, vanilla_rnn


def test_a_packed_fixture_reads_back_every_array_and_hint_exactly():
    values = {"f/main/h": np.arange(12.0).reshape(3, 4), "f/main/loss": np.float64(0.25),
              "f/empty": np.zeros((0, 3)), "f/ids": np.array([[1, 2]], dtype=np.int64),
              "f/mask": np.array([[True, False]]), "f/f32": np.array([1.5], dtype=np.float32),
              "mistake/f/main/0/hint": np.array("dx is transposed: it has the shape (N, D) of x")}
    back = unpack_fixture(pack_fixture(values))
    assert back.keys() == values.keys()
    for key, value in values.items():
        value = np.asarray(value)
        assert back[key].dtype == value.dtype and back[key].shape == value.shape, key
        assert np.array_equal(back[key], value), key
    assert str(back["mistake/f/main/0/hint"]) == str(values["mistake/f/main/0/hint"])


def test_the_stored_fixtures_are_small():
    from autograder.authoring.fixtures import FIXTURE_DIR

    sizes = {path.name: path.stat().st_size for path in FIXTURE_DIR.glob("*.npz")}
    assert len(sizes) == 6 and sum(sizes.values()) < 400_000, sizes  # 1.3 MB as one member an array


def test_the_visible_check_of_sample_reads_its_probabilities_from_the_fixture():
    fixture = load_fixture("01_vanilla_rnn")
    assert {"sample/probs0", "sample/probs1", "sample/one/probs0"} <= fixture.keys()
    assert np.allclose(fixture["sample/probs0"].sum(axis=-1), 1.0)
    assert "np.exp" not in inspect.getsource(vanilla_rnn)  # no temperature softmax in the package
