"""How many threads training uses: one place that sets both NumPy's BLAS and PyTorch.

The course's models are small: a matrix product of a batch of 16 by 128 hidden units takes
microseconds, and splitting it over several BLAS threads costs more in hand-offs than it saves.
On a loaded 2-core machine the default threads also fight with every other process over the
cores: 300 steps of notebook 02's training took 159 s and 166 s with OpenBLAS's default two
threads and 19 s and 24 s on one thread (load average about 11). So the notebooks train on one
thread.

``training_threads(n)`` limits the threads inside a ``with`` block and restores them afterwards;
``use_training_threads(n)`` sets them for the rest of the session (one line in a notebook).
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from threadpoolctl import threadpool_limits

__all__ = ["training_threads", "use_training_threads"]


def _check(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of threads must be a positive int, got {n!r}")
    return n


def _torch():
    # PyTorch is set only when it is already imported: NumPy notebooks never pay for importing it.
    return sys.modules.get("torch")


@contextlib.contextmanager
def training_threads(n: int = 1) -> Iterator[None]:
    """Run the block with ``n`` BLAS threads (NumPy, via threadpoolctl) and ``n`` PyTorch threads.

    Both counts are restored when the block ends, even by an exception.

    Args:
        n: threads for each library, a positive int (1 is fastest for the course's small models).
    """
    _check(n)
    torch = _torch()
    torch_before = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=n):
        if torch is not None:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(torch_before)


def use_training_threads(n: int = 1) -> None:
    """Limit BLAS and PyTorch to ``n`` threads for the rest of the session (not restored).

    Args:
        n: threads for each library, a positive int.
    """
    _check(n)
    threadpool_limits(limits=n)
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(n)
