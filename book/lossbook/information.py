"""Information quantities of discrete distributions, in nats, for the chapter pages.

A distribution is a numpy array whose last axis holds the probabilities; every function
reduces that axis. ``0 log 0 = 0`` throughout (``scipy.special.xlogy``'s convention,
written with numpy only). The pages check these functions against torch before using them.
"""

from __future__ import annotations

import numpy as np


def xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x * log(y)``, with 0 where ``x == 0`` (whatever ``y`` is); ``-inf`` where ``y = 0 < x``."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    out = np.zeros_like(x)
    nz = x != 0
    with np.errstate(divide="ignore"):
        out[nz] = x[nz] * np.log(y[nz])
    return out


def entropy(p: np.ndarray) -> np.ndarray:
    """``H(p) = -sum p log p`` over the last axis."""
    return -xlogy(p, p).sum(-1)


def cross_entropy(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``H(p, q) = -sum p log q`` over the last axis (``inf`` where ``q = 0 < p``)."""
    return -xlogy(p, q).sum(-1)


def kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``KL(p || q) = sum p log(p / q)`` over the last axis."""
    return (xlogy(p, p) - xlogy(p, q)).sum(-1)


def js(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence ``KL(p || M)/2 + KL(q || M)/2``, ``M = (p + q)/2``."""
    mixture = 0.5 * (np.asarray(p) + np.asarray(q))
    return 0.5 * (kl(p, mixture) + kl(q, mixture))


def mutual_information(joint: np.ndarray) -> float:
    """``I(X; Y) = KL(p(x, y) || p(x) p(y))`` of a 2-d joint probability table ``joint[x, y]``."""
    joint = np.asarray(joint, dtype=np.float64)
    product = joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True)
    return float(kl(joint.ravel(), product.ravel()))


def conditional_entropy(joint: np.ndarray) -> float:
    """``H(Y | X) = H(X, Y) - H(X)`` of a joint table ``joint[x, y]``."""
    joint = np.asarray(joint, dtype=np.float64)
    return float(entropy(joint.ravel()) - entropy(joint.sum(1)))


def binary_entropy(e: np.ndarray | float) -> np.ndarray:
    """``h(e) = -e log e - (1 - e) log(1 - e)``, elementwise."""
    e = np.asarray(e, dtype=np.float64)
    return -(xlogy(e, e) + xlogy(1.0 - e, 1.0 - e))
