"""Optimizers for parameters kept in a dict of NumPy arrays: Adam and Adagrad.

The NumPy notebooks keep a model's parameters in a dict (``{"Wx": ..., "Wh": ..., ...}``) and
their backward passes return gradients in a dict with the same keys. An optimizer here holds
that parameter dict, like a PyTorch optimizer holds ``model.parameters()``, and ``step(grads)``
updates every array **in place**, so any other reference to the dict or its arrays sees the new
values. The update rules are PyTorch's own (``torch.optim.Adam`` and ``torch.optim.Adagrad``
with their default options), and ``tests/test_optim.py`` compares the two step by step.

    optimizer = Adam(params, lr=2e-3)
    for x, y in batches:
        loss, grads, h = step(params, x, y, h)
        optimizer.step(grads)
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["Adam", "Adagrad"]


class _Optimizer:
    """Holds the parameters and per-parameter state; subclasses define ``_update``."""

    def __init__(self, params: Mapping[str, np.ndarray], lr: float):
        if not lr > 0:
            raise ValueError(f"the learning rate must be positive, got {lr!r}")
        for name, value in params.items():
            if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
                raise TypeError(f"params[{name!r}] must be a floating-point NumPy array "
                                "(updated in place), got "
                                f"{getattr(value, 'dtype', type(value).__name__)}")
        self.params = params
        self.lr = lr
        self.steps = 0  # how many updates have been applied

    def step(self, grads: Mapping[str, np.ndarray]) -> None:
        """Update every parameter in place from its gradient.

        Args:
            grads: name -> gradient, one per parameter, each of its parameter's shape.

        Raises:
            KeyError: ``grads`` and the parameters do not have the same names.
            ValueError: a gradient's shape differs from its parameter's.
        """
        if set(grads) != set(self.params):
            missing = sorted(set(self.params) - set(grads))
            extra = sorted(set(grads) - set(self.params))
            raise KeyError(f"grads must have one entry per parameter; missing {missing}, "
                           f"unexpected {extra}")
        for name, param in self.params.items():
            grad = np.asarray(grads[name])
            if grad.shape != param.shape:
                raise ValueError(f"grads[{name!r}] has shape {grad.shape}, but the parameter "
                                 f"has shape {param.shape}")
        self.steps += 1
        for name, param in self.params.items():
            self._update(name, param, np.asarray(grads[name], dtype=param.dtype))

    def _update(self, name: str, param: np.ndarray, grad: np.ndarray) -> None:
        raise NotImplementedError


class Adam(_Optimizer):
    """Adam (Kingma and Ba, 2015): a step of ``lr * m_hat / (sqrt(v_hat) + eps)``.

    ``m`` and ``v`` are moving averages of the gradient and of its square; ``m_hat`` and
    ``v_hat`` remove their bias towards the zero they start from. Every parameter thus moves
    by about ``lr`` per step, whatever the scale of its gradient.

    Args:
        params: name -> parameter array (floating point), updated in place by :meth:`step`.
        lr: the learning rate.
        betas: the decay rates of ``m`` and ``v``.
        eps: keeps the step finite where ``v`` is 0.
    """

    def __init__(self, params: Mapping[str, np.ndarray], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, lr)
        self.betas = betas
        self.eps = eps
        self.m = {name: np.zeros_like(p) for name, p in params.items()}
        self.v = {name: np.zeros_like(p) for name, p in params.items()}

    def _update(self, name: str, param: np.ndarray, grad: np.ndarray) -> None:
        beta1, beta2 = self.betas
        m, v = self.m[name], self.v[name]
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad * grad
        m_hat = m / (1 - beta1 ** self.steps)
        v_hat = v / (1 - beta2 ** self.steps)
        param -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class Adagrad(_Optimizer):
    """Adagrad (Duchi et al., 2011): a step of ``lr * g / (sqrt(sum of past g**2) + eps)``.

    Each entry's step shrinks as its squared gradients add up; min-char-rnn trained its
    character RNN this way.

    Args:
        params: name -> parameter array (floating point), updated in place by :meth:`step`.
        lr: the learning rate.
        eps: keeps the step finite where no gradient has been seen yet.
    """

    def __init__(self, params: Mapping[str, np.ndarray], lr: float = 1e-2, eps: float = 1e-10):
        super().__init__(params, lr)
        self.eps = eps
        self.sum_sq = {name: np.zeros_like(p) for name, p in params.items()}

    def _update(self, name: str, param: np.ndarray, grad: np.ndarray) -> None:
        sum_sq = self.sum_sq[name]
        sum_sq += grad * grad
        param -= self.lr * grad / (np.sqrt(sum_sq) + self.eps)
