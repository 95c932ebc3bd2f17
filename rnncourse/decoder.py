"""A small GRU decoder over a vocabulary, for notebook 05 (scheduled sampling).

The model reads one token per step and scores the next one::

    e_t = embed(x_t)                       # (N, E)
    h_t = GRU(e_t, h_{t-1})                # (N, H), PyTorch's GRU cell
    logits_t = h_t W_out^T + b_out         # (N, V)

It follows the course's module convention ``forward(x, state=None) -> (logits, state)``; the
loss is computed outside the module. ``x`` is usually token ids, shape (N, T); it may also be
a float array (N, T, V) of weights over the vocabulary, whose embedding is the weighted sum of
the token embeddings (a one-hot row is the token itself). Calling the model on one step at a
time, carrying ``state``, gives exactly the logits of one call on the whole sequence.

:func:`on_plain_data` lets the grader call a student's training step on plain arrays: the
grader cannot send a PyTorch module to a student's kernel, only arrays, so it sends the
model's parameters and this wrapper rebuilds the model next to the student's function.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["one_thread", "GRUDecoder", "decoder_from_arrays", "decoder_arrays", "teacher_forced_loss",
           "masked_token_losses", "on_plain_data", "PARAMETER_NAMES"]

# the parameters in the order the grader lists them, with their shapes in the course's letters
PARAMETER_NAMES = ("embed.weight", "gru.weight_ih_l0", "gru.weight_hh_l0", "gru.bias_ih_l0",
                   "gru.bias_hh_l0", "out.weight", "out.bias")


@contextlib.contextmanager
def one_thread():
    """Run PyTorch on one thread inside the block (restored after).

    On a model this small, several BLAS threads mostly fight over the cores: measured on a
    loaded 2-core machine, a check of notebook 05 took 10 s with two threads, 0.4 s with one.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class GRUDecoder(nn.Module):
    """Embedding (V, E) -> one-layer GRU (E -> H) -> linear read-out (H -> V).

    Args:
        V: vocabulary size.
        E: embedding size.
        H: hidden size.
        seed: the seed of the initial weights (PyTorch's default initialisation, drawn from a
            ``torch.Generator`` seeded with it, so two models with one seed are equal).
        dtype: the parameters' dtype.
    """

    def __init__(self, V: int, E: int, H: int, seed: int = 0, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.embed = nn.Embedding(V, E, dtype=dtype)
        self.gru = nn.GRU(E, H, batch_first=True, dtype=dtype)
        self.out = nn.Linear(H, V, dtype=dtype)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            self.embed.weight.normal_(0.0, 1.0, generator=generator)
            bound = H ** -0.5
            for name in PARAMETER_NAMES[1:]:
                self.get_parameter(name).uniform_(-bound, bound, generator=generator)

    @property
    def V(self) -> int:
        return self.embed.num_embeddings

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        """Scores of the next token after each input.

        Args:
            x: token ids, int64 of shape (N, T); or weights over the vocabulary, float of
                shape (N, T, V) (a one-hot row is a token).
            state: the hidden state before the first input, shape (N, H); None means zeros.

        Returns:
            logits: shape (N, T, V); logits[:, t] scores the token that follows x[:, t].
            state: the hidden state after the last input, shape (N, H).
        """
        if x.is_floating_point():
            e = x.to(self.embed.weight.dtype) @ self.embed.weight  # (N, T, E)
        else:
            e = self.embed(x)  # (N, T, E)
        h, last = self.gru(e, None if state is None else state[None])
        return self.out(h), last[0]


def decoder_arrays(model: GRUDecoder) -> dict[str, np.ndarray]:
    """The parameters of ``model`` as NumPy arrays (copies), by :data:`PARAMETER_NAMES`."""
    return {name: model.get_parameter(name).detach().cpu().numpy().copy() for name in PARAMETER_NAMES}


def decoder_from_arrays(arrays: dict) -> GRUDecoder:
    """A :class:`GRUDecoder` holding the given parameters (in their dtype, on the CPU).

    Args:
        arrays: every name of :data:`PARAMETER_NAMES`; ``embed.weight`` has shape (V, E) and
            ``gru.weight_hh_l0`` shape (3H, H).
    """
    missing = [name for name in PARAMETER_NAMES if name not in arrays]
    if missing:
        raise KeyError(f"missing parameters {missing}")
    V, E = np.shape(arrays["embed.weight"])
    H = np.shape(arrays["gru.weight_hh_l0"])[1]
    dtype = torch.float64 if np.asarray(arrays["embed.weight"]).dtype == np.float64 else torch.float32
    model = GRUDecoder(V, E, H, dtype=dtype)
    with torch.no_grad():
        for name in PARAMETER_NAMES:
            param = model.get_parameter(name)
            value = torch.as_tensor(np.array(arrays[name]), dtype=dtype)
            if value.shape != param.shape:
                raise ValueError(f"{name} has shape {tuple(value.shape)}, the model needs "
                                 f"{tuple(param.shape)}")
            param.copy_(value)
    return model


def masked_token_losses(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each position, -log softmax(logits[n, t])[y[n, t]], shape (N, T)."""
    N, T, V = logits.shape
    return F.cross_entropy(logits.reshape(N * T, V), y.reshape(N * T), reduction="none").reshape(N, T)


def teacher_forced_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                        mask: torch.Tensor) -> torch.Tensor:
    """The teacher-forced loss: one forward over the true inputs, mean over real tokens.

    Args:
        model: ``model(x, state=None) -> (logits, state)``.
        x: the inputs, int64 of shape (N, T).
        y: the targets, int64 of shape (N, T).
        mask: bool of shape (N, T), True where y is a real token, False on padding.

    Returns:
        A scalar tensor: the cross-entropy summed over the real tokens, divided by their number
        (0.0 when every position is padding).
    """
    logits, _ = model(x)
    losses = masked_token_losses(logits, y) * mask
    return losses.sum() / mask.sum().clamp(min=1)


def on_plain_data(step: Callable) -> Callable:
    """``step(model, x, y, mask, eps, rng, greedy)`` made callable on plain arrays.

    The grader sends the parameters of a :class:`GRUDecoder` and NumPy arrays; the wrapper
    builds the model and tensors, calls ``step``, back-propagates the loss it returns and sends
    back NumPy arrays. Students never need to call it.

    Returns:
        A function ``(params, x, y, mask, eps, rng, greedy) -> (loss, inputs, used_truth,
        grads)``: ``params`` and ``grads`` are dicts by :data:`PARAMETER_NAMES`; ``grads`` has
        the dtype of the loss.
    """
    def called_on_data(params, x, y, mask, eps, rng, greedy=True):
        with one_thread():
            return _call_on_data(step, params, x, y, mask, eps, rng, greedy)

    called_on_data.takes_plain_data = True
    called_on_data.__name__ = getattr(step, "__name__", "step")
    return called_on_data


def _call_on_data(step, params, x, y, mask, eps, rng, greedy):
    """The body of :func:`on_plain_data`'s wrapper."""
    model = decoder_from_arrays(params)
    result = step(model, torch.tensor(np.asarray(x), dtype=torch.int64),
                  torch.tensor(np.asarray(y), dtype=torch.int64),
                  torch.tensor(np.asarray(mask), dtype=torch.bool), eps, rng, greedy)
    if not (isinstance(result, (tuple, list)) and len(result) == 3):
        raise TypeError(f"should return a tuple (loss, inputs, used_truth), got {type(result).__name__}")
    loss, inputs, used_truth = result
    if not (isinstance(loss, torch.Tensor) and loss.requires_grad):
        raise TypeError("the loss must be a tensor connected to the model's parameters "
                        "(no .item(), .detach() or torch.no_grad() around it)")
    loss.backward()
    # in the precision the loss was computed in: a loss in float32 has float32 gradients,
    # even where autograd accumulated them into float64 parameters
    dtype = loss.detach().numpy().dtype
    grads = {name: (np.zeros(tuple(p.shape), dtype) if p.grad is None
                    else p.grad.detach().numpy().astype(dtype))
             for name, p in ((n, model.get_parameter(n)) for n in PARAMETER_NAMES)}
    return loss.detach().numpy().copy(), inputs, used_truth, grads
