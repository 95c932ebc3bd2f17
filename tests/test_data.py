"""rnncourse.data: the shipped texts, the character vocabulary and the batch iterators."""
import itertools

import numpy as np
import pytest

from rnncourse import data
from rnncourse.data import DataError, Vocab, load_text, random_batches, sequential_batches, stream_batches


@pytest.fixture(scope="module")
def shakespeare():
    return load_text("tinyshakespeare")


@pytest.fixture(scope="module")
def shakespeare_ids(shakespeare):
    return Vocab.from_text(shakespeare).encode(shakespeare)


@pytest.fixture
def fresh_cache():
    """Make load_text read the file again, and forget whatever this test loaded."""
    load_text.cache_clear()
    yield
    load_text.cache_clear()


# --- load_text ------------------------------------------------------------------------------

def test_load_text_tinyshakespeare(shakespeare):
    assert len(shakespeare) == 1_115_394
    assert shakespeare.startswith("First Citizen:")


def test_load_text_names():
    text = load_text("names")
    # makemore's file has 32,033 names and no newline after the last one, so `wc -l` (and
    # the "32,032 names" of datafiles/SOURCES.md) counts one fewer
    assert text.count("\n") == 32_032 and not text.endswith("\n")
    names = text.splitlines()
    assert len(names) == 32_033
    assert names[0] == "emma"
    assert all(name.isalpha() and name.islower() for name in names)


def test_load_text_unknown_name_lists_the_datasets():
    with pytest.raises(ValueError, match="shakespear") as info:
        load_text("shakespear")
    assert "tinyshakespeare" in str(info.value) and "names" in str(info.value)


def test_load_text_detects_a_corrupt_file(monkeypatch, fresh_cache):
    monkeypatch.setitem(data.DATASETS, "names", ("names.txt", "0" * 64))
    with pytest.raises(DataError, match="names.txt is corrupt"):
        load_text("names")


def test_load_text_detects_a_missing_file(monkeypatch, fresh_cache):
    monkeypatch.setitem(data.DATASETS, "names", ("no_such_file.txt", "0" * 64))
    with pytest.raises(DataError, match="missing"):
        load_text("names")


# --- Vocab ----------------------------------------------------------------------------------

def test_vocab_of_shakespeare_has_65_sorted_characters(shakespeare):
    vocab = Vocab.from_text(shakespeare)
    assert len(vocab) == 65
    assert vocab.chars == "".join(sorted(set(shakespeare)))
    assert vocab.chars[0] == "\n"


def test_vocab_encode_decode_round_trip(shakespeare, shakespeare_ids):
    vocab = Vocab.from_text(shakespeare)
    assert shakespeare_ids.dtype == np.int64 and shakespeare_ids.shape == (len(shakespeare),)
    assert vocab.decode(shakespeare_ids[:1000]) == shakespeare[:1000]
    assert vocab.decode(shakespeare_ids[:1000].tolist()) == shakespeare[:1000]
    assert Vocab("abc").encode("cab").tolist() == [2, 0, 1]
    assert Vocab("abc").encode("").shape == (0,)


def test_vocab_encode_names_the_unknown_character_and_its_position():
    with pytest.raises(ValueError, match=r"'z' at position 3"):
        Vocab("abc").encode("abcz")
    with pytest.raises(ValueError, match=r"'\\n' at position 1"):
        Vocab("abc").encode("a\nb")


@pytest.mark.parametrize("bad", [3, -1])
def test_vocab_decode_rejects_ids_outside_the_vocabulary(bad):
    with pytest.raises(ValueError, match=f"id {bad} is outside"):
        Vocab("abc").decode([0, bad, 1])


def test_vocab_rejects_repeated_characters():
    with pytest.raises(ValueError, match="distinct"):
        Vocab("abca")


# --- random_batches -------------------------------------------------------------------------

def test_random_batches_shapes_dtype_and_shift(shakespeare_ids):
    batches = list(random_batches(shakespeare_ids, 4, 16, seed=0, n_batches=3))
    assert len(batches) == 3
    for x, y in batches:
        assert x.shape == y.shape == (4, 16)
        assert x.dtype == y.dtype == np.int64
        assert np.array_equal(y[:, :-1], x[:, 1:])


def test_random_batches_are_windows_of_the_text():
    ids = np.arange(50)  # every window of a ramp is a ramp starting at its offset
    for x, y in random_batches(ids, 8, 5, seed=1, n_batches=10):
        assert np.array_equal(x, x[:, :1] + np.arange(5))
        assert np.array_equal(y, x + 1)
        assert y.max() <= 49


def test_random_batches_int32_ids_still_give_int64():
    x, y = next(random_batches(np.arange(30, dtype=np.int32), 2, 4, seed=0))
    assert x.dtype == y.dtype == np.int64


def test_random_batches_depend_only_on_the_seed(shakespeare_ids):
    def draw(seed):
        return [x for x, _ in random_batches(shakespeare_ids, 4, 16, seed=seed, n_batches=3)]

    assert all(np.array_equal(a, b) for a, b in zip(draw(7), draw(7)))
    assert not all(np.array_equal(a, b) for a, b in zip(draw(7), draw(8)))


def test_random_batches_n_batches_none_runs_for_ever():
    batches = random_batches(np.arange(20), 2, 3, seed=0)
    assert len(list(itertools.islice(batches, 100))) == 100


@pytest.mark.parametrize(
    "ids, N, T, words",
    [
        (np.arange(10), 2, 10, "T=10 is too long"),
        (np.arange(10), 0, 3, "N"),
        (np.arange(10), 2, 0, "T"),
        (np.arange(10), 2.0, 3, "N"),
        (np.arange(10).reshape(2, 5), 2, 3, "1-D"),
        (np.linspace(0, 1, 10), 2, 3, "integer"),
    ],
    ids=["T_too_long", "N_zero", "T_zero", "N_float", "ids_2d", "ids_float"],
)
def test_random_batches_rejects_bad_arguments(ids, N, T, words):
    with pytest.raises(ValueError, match=words):
        next(random_batches(ids, N, T, seed=0))


def test_random_batches_accepts_the_longest_window():
    x, y = next(random_batches(np.arange(6), 3, 5, seed=0))
    assert np.array_equal(x, np.tile(np.arange(5), (3, 1)))


# --- sequential_batches ---------------------------------------------------------------------

def test_sequential_batches_continue_each_row(shakespeare_ids):
    ids = shakespeare_ids[:10_001]
    batches = list(sequential_batches(ids, 4, 25))
    assert len(batches) == (10_000 // 4) // 25
    for x, y in batches:
        assert x.shape == y.shape == (4, 25) and x.dtype == y.dtype == np.int64
        assert np.array_equal(y[:, :-1], x[:, 1:])
    for (_, y_prev), (x_next, _) in zip(batches, batches[1:]):
        assert np.array_equal(x_next[:, 0], y_prev[:, -1])


def test_sequential_batches_cut_the_text_into_streams():
    x, y = next(sequential_batches(np.arange(21), 4, 3))
    # streams of (21 - 1) // 4 = 5 tokens: 0-4, 5-9, 10-14, 15-19
    assert x.tolist() == [[0, 1, 2], [5, 6, 7], [10, 11, 12], [15, 16, 17]]
    assert np.array_equal(y, x + 1)


def test_sequential_batches_reject_streams_shorter_than_T():
    with pytest.raises(ValueError, match="shorter than T=5"):
        next(sequential_batches(np.arange(20), 4, 5))
    with pytest.raises(ValueError, match="1-D"):
        next(sequential_batches(np.zeros((2, 10), dtype=np.int64), 2, 3))


def test_stream_batches_pass_over_the_text_again_and_again_from_moving_offsets():
    ids = np.arange(1001)
    batches = stream_batches(ids, 4, 10, seed=0)
    starts = []
    for _ in range(3):  # three passes: each a run of sequential batches of ids[offset:]
        first, _ = next(batches)
        starts.append(int(first[0, 0]))
        rest = [next(batches) for _ in range((1000 - starts[-1]) // 4 // 10 - 1)]
        for (_, y_prev), (x_next, _) in zip([(first, first + 1), *rest], rest):
            assert np.array_equal(x_next[:, 0], y_prev[:, -1])  # rows continue within a pass
    assert all(0 <= s < 10 for s in starts) and len(set(starts)) > 1
