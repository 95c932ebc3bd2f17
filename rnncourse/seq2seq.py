"""An encoder-decoder for the dates task in PyTorch: a bidirectional GRU encoder and a GRU
decoder that reads the source through additive attention (Bahdanau et al., 2015), or, with
``attention=False``, through one fixed vector (Cho et al., 2014).

Provided code for notebook 06 (not graded). The attention is the same function students write
in NumPy, with the same parameter layout, so the two can be compared on the same weights:

    scores   e[n, s] = tanh(q[n] @ Wq + K[n, s] @ Wk) @ v          (N, S)
    weights  a[n]    = softmax(e[n]) over the real positions s      (N, S), 0 at padding
    context  c[n]    = sum_s a[n, s] K[n, s]                        (N, Hk)

q (N, Hq) is the decoder state, K (N, S, Hk) the encoder states, Wq (Hq, A), Wk (Hk, A), v (A,).
Training (teacher forcing, masked loss) and decoding live in ``seq2seq_train.py``.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = ["DEVICE", "AdditiveAttention", "Seq2Seq", "attention_params",
           "torch_attention_forward_backward"]

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class AdditiveAttention(nn.Module):
    """Additive attention with parameters Wq (Hq, A), Wk (Hk, A), v (A,)."""

    def __init__(self, Hq: int, Hk: int, A: int):
        super().__init__()
        self.Wq = nn.Parameter(torch.randn(Hq, A) / Hq**0.5)
        self.Wk = nn.Parameter(torch.randn(Hk, A) / Hk**0.5)
        self.v = nn.Parameter(torch.randn(A) / A**0.5)

    def forward(self, q: torch.Tensor, K: torch.Tensor, mask: torch.Tensor,
                keys: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(context (N, Hk), weights (N, S)) for q (N, Hq), K (N, S, Hk), mask (N, S) bool.

        ``keys`` may hold K @ Wk (N, S, A), computed once per source rather than per step.
        """
        keys = K @ self.Wk if keys is None else keys
        scores = torch.tanh((q @ self.Wq)[:, None, :] + keys) @ self.v  # (N, S)
        scores = scores.masked_fill(~mask, -1e30)  # finite: an all-padding row stays NaN-free
        weights = torch.softmax(scores, dim=1)
        weights = torch.where(mask, weights, torch.zeros_like(weights))  # an empty row: 0, not NaN
        return (weights[..., None] * K).sum(dim=1), weights


class Seq2Seq(nn.Module):
    """Characters in, characters out: embeddings, a bidirectional GRU, a GRU decoder.

    Args:
        source_vocab, target_vocab: vocabulary sizes (padding id 0).
        attention: True for additive attention over the encoder states, False for a decoder
            that sees only the fixed summary of the source (the two final encoder states).
        E: embedding size; H: hidden size of each encoder direction; Hd: decoder size;
        A: attention size.
        seed: seeds the initial weights.
    """

    def __init__(self, source_vocab: int, target_vocab: int, attention: bool = True, E: int = 32,
                 H: int = 64, Hd: int = 128, A: int = 64, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.uses_attention = attention
        self.source_embed = nn.Embedding(source_vocab, E, padding_idx=0)
        self.encoder = nn.GRU(E, H, batch_first=True, bidirectional=True)
        self.target_embed = nn.Embedding(target_vocab, E, padding_idx=0)
        self.init_state = nn.Linear(2 * H, Hd)
        self.cell = nn.GRUCell(E + 2 * H, Hd)
        self.attention = AdditiveAttention(Hd, 2 * H, A) if attention else None
        self.out = nn.Linear(Hd + 2 * H + E, target_vocab)

    def encode(self, source: torch.Tensor, lengths: torch.Tensor) -> dict:
        """Encoder states K (N, S, 2H), their mask, keys K @ Wk, summary (N, 2H), first state."""
        packed = pack_padded_sequence(self.source_embed(source), lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)  # the backward GRU starts at the real end
        states, last = self.encoder(packed)
        K, _ = pad_packed_sequence(states, batch_first=True, total_length=source.shape[1])
        summary = torch.cat([last[0], last[1]], dim=1)  # (N, 2H): forward end, backward start
        mask = torch.arange(source.shape[1], device=source.device)[None, :] < lengths[:, None]
        keys = K @ self.attention.Wk if self.attention is not None else None
        return {"K": K, "mask": mask, "keys": keys, "summary": summary,
                "state": torch.tanh(self.init_state(summary))}

    def step(self, tokens: torch.Tensor, state: torch.Tensor, memory: dict
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """One decoder step: (logits (N, V), new state (N, Hd), attention weights (N, S) or None)."""
        embedded = self.target_embed(tokens)  # (N, E)
        if self.attention is not None:
            context, weights = self.attention(state, memory["K"], memory["mask"], memory["keys"])
        else:
            context, weights = memory["summary"], None
        state = self.cell(torch.cat([embedded, context], dim=1), state)
        return self.out(torch.cat([state, context, embedded], dim=1)), state, weights

    def forward(self, source: torch.Tensor, lengths: torch.Tensor, target_in: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Teacher forcing: logits (N, T, V) for every position of ``target_in`` (N, T), and the
        attention weights (N, T, S) (None without attention)."""
        memory = self.encode(source, lengths)
        state, logits, weights = memory["state"], [], []
        for t in range(target_in.shape[1]):
            out, state, w = self.step(target_in[:, t], state, memory)
            logits.append(out)
            weights.append(w)
        return torch.stack(logits, 1), (torch.stack(weights, 1) if self.attention is not None else None)


def attention_params(attention: AdditiveAttention) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Wq (Hq, A), Wk (Hk, A), v (A,)) of a PyTorch attention, as float64 NumPy arrays."""
    return tuple(p.detach().cpu().double().numpy().copy() for p in (attention.Wq, attention.Wk, attention.v))


def torch_attention_forward_backward(attention: AdditiveAttention, q: np.ndarray, K: np.ndarray,
                                     mask: np.ndarray, dcontext: np.ndarray) -> dict[str, np.ndarray]:
    """PyTorch's forward and autograd backward of ``attention`` in float64.

    Args:
        q: (N, Hq); K: (N, S, Hk); mask: (N, S) bool; dcontext: the upstream gradient (N, Hk).

    Returns:
        ``context`` (N, Hk), ``weights`` (N, S) and the gradients of sum(context * dcontext):
        ``dq``, ``dK``, ``dWq``, ``dWk``, ``dv``, in the NumPy exercise's layout.
    """
    Wq, Wk, v = (torch.tensor(p, requires_grad=True) for p in attention_params(attention))
    q_t, K_t = torch.tensor(q, requires_grad=True), torch.tensor(K, requires_grad=True)
    mask_t = torch.as_tensor(np.asarray(mask, dtype=bool))
    scores = torch.tanh((q_t @ Wq)[:, None, :] + K_t @ Wk) @ v
    weights = torch.softmax(scores.masked_fill(~mask_t, -1e30), dim=1)
    weights = torch.where(mask_t, weights, torch.zeros_like(weights))
    context = (weights[..., None] * K_t).sum(dim=1)
    (context * torch.tensor(dcontext)).sum().backward()
    grads = {"dq": q_t.grad, "dK": K_t.grad, "dWq": Wq.grad, "dWk": Wk.grad, "dv": v.grad}
    return {"context": context.detach().numpy(), "weights": weights.detach().numpy(),
            **{name: g.numpy() for name, g in grads.items()}}
