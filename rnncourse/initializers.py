"""Weight initialisations the notebooks and slides share."""
from __future__ import annotations

import numpy as np

__all__ = ["scaled_orthogonal"]


def scaled_orthogonal(H: int, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """A random (H, H) matrix whose singular values all equal ``sigma``: ``sigma * Q``, Q orthogonal.

    Q comes from the QR decomposition of a Gaussian matrix; multiplying its columns by the signs
    of R's diagonal makes Q uniformly distributed over the orthogonal matrices (Mezzadri, 2007).

    Args:
        H: the size of the matrix, an int >= 1.
        sigma: every singular value of the result, a float >= 0.
        rng: the only source of randomness.

    Returns:
        float64, shape (H, H).
    """
    if isinstance(H, bool) or not isinstance(H, (int, np.integer)) or H < 1:
        raise ValueError(f"H must be an int >= 1, got {H!r}")
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma!r}")
    q, r = np.linalg.qr(rng.normal(size=(H, H)))
    return sigma * q * np.sign(np.diag(r))
