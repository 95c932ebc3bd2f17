"""A translation task that needs no download: dates as people write them -> ISO 8601.

``"3rd of March 1987"``, ``"Tue 03/03/87"``, ``"march 3, 1987"`` and ``"1987-3-3"`` all become
``"1987-03-03"``. Every date lies between 1950-01-01 and 2049-12-31, so a two-digit year names
exactly one date (50-99 are 19xx, 00-49 are 20xx). Numeric dates are always DAY first (as in
most of the world) unless the year comes first; a weekday, when written, is the true one.

- :func:`date_pairs`: seeded train / validation / test splits of (source, target) pairs; no date
  appears in two splits.
- :data:`SOURCE_VOCAB`, :data:`TARGET_VOCAB`: character vocabularies with the ids
  ``PAD = 0``, ``BOS = 1`` (start) and ``EOS = 2`` (end).
- :func:`make_batch`, :func:`batches`: padded id arrays with lengths and masks, batch-first.
- :func:`is_valid_date`: is a predicted string a real date in ISO form?
"""
from __future__ import annotations

import datetime
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Vocab", "SOURCE_VOCAB", "TARGET_VOCAB", "PAD", "BOS", "EOS", "FORMATS", "human_date",
           "date_pairs", "Batch", "make_batch", "batches", "is_valid_date"]

PAD, BOS, EOS = 0, 1, 2
FIRST_DAY, LAST_DAY = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Vocab:
    """Characters and their ids; ids 0, 1, 2 are padding, start and end."""

    chars: str

    @property
    def tokens(self) -> tuple[str, ...]:
        return ("<pad>", "<s>", "</s>", *self.chars)

    def __len__(self) -> int:
        return 3 + len(self.chars)

    def encode(self, text: str) -> list[int]:
        """The ids of the characters of ``text`` (no start or end token).

        Raises:
            ValueError: a character is not in the vocabulary.
        """
        unknown = sorted(set(text) - set(self.chars))
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {unknown}")
        return [3 + self.chars.index(ch) for ch in text]

    def decode(self, ids: Sequence[int]) -> str:
        """The text of ``ids``, up to the first end token; padding and start tokens are skipped."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i >= 3:
                out.append(self.chars[i - 3])
        return "".join(out)


SOURCE_VOCAB = Vocab(" ,-./" + string.digits + string.ascii_letters)
TARGET_VOCAB = Vocab("-" + string.digits)


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _fields(date: datetime.date) -> dict[str, str]:
    month, weekday = MONTHS[date.month - 1], WEEKDAYS[date.weekday()]
    return {"d": str(date.day), "dd": f"{date.day:02d}", "dth": _ordinal(date.day),
            "m": str(date.month), "mm": f"{date.month:02d}", "Month": month,
            "month": month.lower(), "Mon": month[:3], "MON": month[:3].upper(),
            "Y": str(date.year), "yy": f"{date.year % 100:02d}", "Weekday": weekday,
            "Wkd": weekday[:3]}


# How people write a date; each is filled from _fields. Short and long, words and numbers.
FORMATS = (
    "{d} {Month} {Y}", "{dth} of {Month} {Y}", "{Month} {d}, {Y}", "{month} {d}, {Y}",
    "{Mon} {d} {Y}", "{Mon}. {d}, {Y}", "{d} {MON} {Y}", "{dd} {Mon} {yy}", "{Wkd} {dd}/{mm}/{yy}",
    "{dd}/{mm}/{Y}", "{d}/{m}/{Y}", "{dd}.{mm}.{Y}", "{Y}-{m}-{d}", "{Y}/{mm}/{dd}",
    "{Weekday}, {Month} {dth}, {Y}", "{Weekday} the {dth} of {Month} {Y}", "{Wkd}, {d} {Mon} {Y}",
    "{month} {dth} {yy}",
)


def human_date(date: datetime.date, rng: np.random.Generator) -> str:
    """``date`` written in one of :data:`FORMATS`, drawn from ``rng``."""
    return FORMATS[int(rng.integers(len(FORMATS)))].format(**_fields(date))


def date_pairs(n_train: int, n_valid: int, n_test: int,
               seed: int = 0) -> dict[str, list[tuple[str, str]]]:
    """Seeded (human-written date, ISO date) pairs in three splits with no date in common.

    Args:
        n_train, n_valid, n_test: how many pairs in each split (each >= 0; together at most
            the 36,524 days from 1950 to 2049).
        seed: the seed of every random choice (dates and formats).

    Returns:
        ``{"train": [...], "valid": [...], "test": [...]}``, each a list of
        ``(source, target)`` strings, e.g. ``("Tue 03/03/87", "1987-03-03")``.

    Raises:
        ValueError: a negative size, or more pairs than there are days.
    """
    sizes = {"train": n_train, "valid": n_valid, "test": n_test}
    for name, size in sizes.items():
        if not isinstance(size, (int, np.integer)) or size < 0:
            raise ValueError(f"n_{name} must be an integer >= 0, got {size!r}")
    days = (LAST_DAY - FIRST_DAY).days + 1
    if sum(sizes.values()) > days:
        raise ValueError(f"asked for {sum(sizes.values())} pairs, but there are only {days} "
                         f"distinct days from {FIRST_DAY} to {LAST_DAY}")
    rng = np.random.default_rng(seed)
    offsets = rng.choice(days, size=sum(sizes.values()), replace=False)  # distinct dates
    splits, start = {}, 0
    for name, size in sizes.items():
        dates = [FIRST_DAY + datetime.timedelta(days=int(k)) for k in offsets[start:start + size]]
        splits[name] = [(human_date(d, rng), d.isoformat()) for d in dates]
        start += size
    return splits


@dataclass(frozen=True)
class Batch:
    """A padded batch, batch-first. S: longest source, T: target length + 1.

    Attributes:
        source: source ids, int64 (N, S), padded with PAD.
        source_lengths: real length of each source, int64 (N,).
        source_mask: True at real characters, bool (N, S).
        target_in: the decoder's inputs under teacher forcing, BOS then the target, (N, T).
        target_out: what the decoder must predict, the target then EOS, (N, T).
        target_mask: True at positions that count in the loss, bool (N, T).
    """

    source: np.ndarray
    source_lengths: np.ndarray
    source_mask: np.ndarray
    target_in: np.ndarray
    target_out: np.ndarray
    target_mask: np.ndarray


def _padded(rows: list[list[int]]) -> np.ndarray:
    out = np.full((len(rows), max(map(len, rows))), PAD, dtype=np.int64)
    for n, row in enumerate(rows):
        out[n, :len(row)] = row
    return out


def make_batch(pairs: Sequence[tuple[str, str]], reverse_source: bool = False) -> Batch:
    """The padded arrays of ``pairs``; ``reverse_source`` reverses each source's characters
    (the padding stays at the end), as Sutskever et al. (2014) fed their encoder.

    Raises:
        ValueError: no pairs, an empty source, or a character outside the vocabularies.
    """
    if len(pairs) == 0:
        raise ValueError("make_batch needs at least one pair")
    sources = [SOURCE_VOCAB.encode(s) for s, _ in pairs]
    if any(len(s) == 0 for s in sources):
        raise ValueError("every source must have at least one character")
    if reverse_source:
        sources = [s[::-1] for s in sources]
    targets = [TARGET_VOCAB.encode(t) for _, t in pairs]
    source = _padded(sources)
    lengths = np.array([len(s) for s in sources], dtype=np.int64)
    target_in, target_out = _padded([[BOS] + t for t in targets]), _padded([t + [EOS] for t in targets])
    return Batch(source, lengths, np.arange(source.shape[1]) < lengths[:, None], target_in,
                 target_out, np.arange(target_out.shape[1]) < np.array([len(t) + 1 for t in targets])[:, None])


def batches(pairs: Sequence[tuple[str, str]], batch_size: int, seed: int = 0,
            reverse_source: bool = False) -> Iterator[Batch]:
    """Endless shuffled batches of ``pairs``: each pass over the data in a new order.

    Raises:
        ValueError: no pairs, or ``batch_size`` < 1.
    """
    if len(pairs) == 0 or batch_size < 1:
        raise ValueError(f"need pairs and batch_size >= 1, got {len(pairs)} pairs, {batch_size}")
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(pairs))
        for start in range(0, len(order), batch_size):
            yield make_batch([pairs[i] for i in order[start:start + batch_size]], reverse_source)


def is_valid_date(text: str) -> bool:
    """Is ``text`` a real calendar date written YYYY-MM-DD?"""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True
