"""Float32 implementations in torch's order of operations, for the float32 fairness tests of ``loss_design``.

Each function computes what ATen computes, operation by operation in the input's dtype, and takes the gradient
back the way autograd does (each op's own backward formula, in reverse order), in numpy. A careful student
who copies autograd's float32 order gets the same rounding as torch up to summation order, so every public
float32 case must accept these (issue 26: the tolerance must not reject a correct float32 answer).
"""

from __future__ import annotations

from typing import Any

import numpy as np

EPS = 1e-12  # ATen's EPSILON in cosine_embedding_loss, and F.normalize's default eps


def cosine_embedding_loss_backward(input1: np.ndarray, input2: np.ndarray, target: np.ndarray, grad_output: Any = 1.0,
                                   margin: float = 0.0, reduction: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Gradients w.r.t. ``input1`` and ``input2`` (``(N, D)``), in their dtype: ATen's ``cosine_embedding_loss``
    (``prod_sum / sqrt((|x1|^2 + EPS)(|x2|^2 + EPS))``) taken back op by op as autograd does."""
    x1, x2 = input1, input2
    dt = x1.dtype
    prod_sum = (x1 * x2).sum(-1)
    m1 = (x1 * x1).sum(-1) + dt.type(EPS)
    m2 = (x2 * x2).sum(-1) + dt.type(EPS)
    denom = np.sqrt(m1 * m2)
    cos = prod_sum / denom
    g = np.asarray(grad_output, dtype=dt)
    if reduction == "mean":
        g_out = np.broadcast_to(g / dt.type(cos.size), cos.shape)
    elif reduction == "sum":
        g_out = np.broadcast_to(g, cos.shape)
    else:
        g_out = g
    zero = np.zeros((), dt)
    g_pos = np.where(target == 1, g_out, zero)
    g_neg = np.where(target == -1, g_out, zero)
    g_cos = -g_pos + np.where(cos - dt.type(margin) >= 0, g_neg, zero)
    g_ps = g_cos / denom
    g_denom = -g_cos * prod_sum / (denom * denom)
    g_mm = g_denom / (2 * denom)
    g_m1, g_m2 = g_mm * m2, g_mm * m1
    gi1 = g_ps[..., None] * x2 + (g_m1[..., None] * x1 + g_m1[..., None] * x1)
    gi2 = g_ps[..., None] * x1 + (g_m2[..., None] * x2 + g_m2[..., None] * x2)
    return gi1.astype(dt, copy=False), gi2.astype(dt, copy=False)


def _normalize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``F.normalize``: rows divided by ``max(|row|, EPS)``; also the norms and the divisors."""
    norm = np.sqrt((x * x).sum(-1, keepdims=True))
    d = np.maximum(norm, x.dtype.type(EPS))
    return x / d, norm, d


def _normalize_backward(g: np.ndarray, x: np.ndarray, norm: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Back through :func:`_normalize`: the division, the clamp (no gradient below EPS), the norm (0 at 0)."""
    g_x = g / d
    g_d = (-g * x / (d * d)).sum(-1, keepdims=True)
    g_norm = np.where(norm >= x.dtype.type(EPS), g_d, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        g_norm_x = np.where(norm == 0, 0, x * g_norm / norm)
    return g_x + g_norm_x


def info_nce_backward(queries: np.ndarray, keys: np.ndarray, grad_output: Any = 1.0, temperature: float = 0.1,
                      reduction: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Gradients w.r.t. ``queries`` and ``keys`` (``(N, D)``), in their dtype: normalise, ``q k^T / T``,
    ``log_softmax`` and NLL of the diagonal, taken back op by op as autograd does (``log_softmax``'s backward is
    ``g - exp(out) * sum(g)``)."""
    dt = queries.dtype
    n = queries.shape[0]
    if n == 0:
        return np.zeros_like(queries), np.zeros_like(keys)
    qn, qnorm, qd = _normalize(queries)
    kn, knorm, kd = _normalize(keys)
    logits = (qn @ kn.T) / dt.type(temperature)
    shifted = logits - logits.max(axis=1, keepdims=True)
    lsm = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    g = np.asarray(grad_output, dtype=dt)
    if reduction == "mean":
        g_rows = np.broadcast_to(g / dt.type(n), (n,))
    elif reduction == "sum":
        g_rows = np.broadcast_to(g, (n,))
    else:
        g_rows = g
    g_lsm = np.zeros_like(lsm)
    g_lsm[np.arange(n), np.arange(n)] = -g_rows
    g_logits = g_lsm - np.exp(lsm) * g_lsm.sum(axis=1, keepdims=True)
    g_mm = g_logits / dt.type(temperature)
    g_qn = g_mm @ kn
    g_kn = g_mm.T @ qn
    return (_normalize_backward(g_qn, queries, qnorm, qd).astype(dt, copy=False),
            _normalize_backward(g_kn, keys, knorm, kd).astype(dt, copy=False))
