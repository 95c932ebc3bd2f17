"""The dates task of notebook 06: seeded splits without shared dates, vocabularies, batches."""
import datetime

import numpy as np
import pytest

from rnncourse.dates import (
    BOS,
    EOS,
    FORMATS,
    PAD,
    SOURCE_VOCAB,
    TARGET_VOCAB,
    batches,
    date_pairs,
    human_date,
    is_valid_date,
    make_batch,
)


def test_splits_are_seeded_sized_and_share_no_date():
    first, again = date_pairs(300, 50, 60, seed=3), date_pairs(300, 50, 60, seed=3)
    assert first == again and first != date_pairs(300, 50, 60, seed=4)
    assert [len(first[k]) for k in ("train", "valid", "test")] == [300, 50, 60]
    dates = {k: {t for _, t in v} for k, v in first.items()}
    assert len(dates["train"]) == 300
    assert not (dates["train"] & dates["valid"] or dates["train"] & dates["test"] or dates["valid"] & dates["test"])


def test_every_source_names_its_target():
    rng = np.random.default_rng(0)
    for k in range(400):
        date = datetime.date(1950, 1, 1) + datetime.timedelta(days=int(rng.integers(36524)))
        for template in FORMATS:
            text = template.format(**__import__("rnncourse.dates", fromlist=["_fields"])._fields(date))
            assert str(date.day) in text and (str(date.year) in text or f"{date.year % 100:02d}" in text)
            weekday = date.strftime("%A")
            if weekday[:3] in text or any(w in text for w in ("day,", "day the")):
                assert weekday[:3] in text
    assert human_date(datetime.date(1987, 3, 3), np.random.default_rng(1)) in {
        t.format(**__import__("rnncourse.dates", fromlist=["_fields"])._fields(datetime.date(1987, 3, 3))) for t in FORMATS}


@pytest.mark.parametrize("sizes", [(-1, 0, 0), (0, -2, 0), (1.5, 0, 0), (40000, 0, 0)])
def test_bad_sizes_are_refused_with_a_clear_error(sizes):
    with pytest.raises(ValueError, match="n_|distinct days"):
        date_pairs(*sizes)


def test_vocabularies_round_trip_and_reserve_the_special_ids():
    assert (PAD, BOS, EOS) == (0, 1, 2)
    text = "Wednesday, March 3rd, 1987"
    assert SOURCE_VOCAB.decode(SOURCE_VOCAB.encode(text)) == text
    assert TARGET_VOCAB.decode(TARGET_VOCAB.encode("1987-03-03") + [EOS, 5, 6]) == "1987-03-03"
    with pytest.raises(ValueError, match="not in the vocabulary"):
        TARGET_VOCAB.encode("1987/03/03")


def test_batches_have_lengths_masks_and_shifted_targets():
    pairs = [("3/3/1987", "1987-03-03"), ("Tuesday the 3rd of March 1987", "1987-03-03")]
    b = make_batch(pairs)
    assert b.source.shape == (2, 29) and b.source_lengths.tolist() == [8, 29]
    assert b.source_mask.sum(axis=1).tolist() == [8, 29] and np.all(b.source[0, 8:] == PAD)
    assert b.target_in[:, 0].tolist() == [BOS, BOS] and b.target_out[:, -1].tolist() == [EOS, EOS]
    assert np.array_equal(b.target_in[:, 1:], b.target_out[:, :-1]) and b.target_mask.all()
    reversed_ = make_batch(pairs, reverse_source=True)
    assert SOURCE_VOCAB.decode(reversed_.source[0]) == "7891/3/3"
    with pytest.raises(ValueError):
        make_batch([])
    with pytest.raises(ValueError):
        make_batch([("", "1987-03-03")])


def test_batches_cover_the_data_in_shuffled_passes():
    pairs = date_pairs(10, 0, 0)["train"]
    stream = batches(pairs, 4, seed=0)
    seen = [SOURCE_VOCAB.decode(row) for _ in range(3) for row in next(stream).source]
    assert sorted(seen) == sorted(s for s, _ in pairs)
    with pytest.raises(ValueError):
        next(batches(pairs, 0))


def test_valid_dates():
    assert is_valid_date("2000-02-29") and not is_valid_date("1900-02-29")
    assert not is_valid_date("2001-02-29") and not is_valid_date("1987-3-3") and not is_valid_date("")
