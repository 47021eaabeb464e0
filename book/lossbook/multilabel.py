"""Data, fitting and metrics for the multi-label page of chapter 3.

Conventions: ``X`` has shape (n, d); label sets are multi-hot arrays ``Y`` of shape (n, K) with entries in {0, 1};
scores and probabilities have shape (n, K), one column per label.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F


def multilabel_data(n: int, weights: np.ndarray, biases: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points x ~ N(0, I_d), labels drawn independently: P(y_k = 1 | x) = sigmoid(x . weights[:, k] + biases[k]).

    ``weights`` has shape (d, K) and ``biases`` shape (K,): a negative bias makes label k rare.
    """
    gen = np.random.default_rng(seed)
    X = gen.standard_normal((n, weights.shape[0]))
    probabilities = 1 / (1 + np.exp(-(X @ weights + biases)))
    return X, (gen.random(probabilities.shape) < probabilities).astype(np.float64)


def fit_per_label_logistic(X: np.ndarray, Y: np.ndarray, steps: int = 200) -> torch.nn.Linear:
    """One logistic regression per label, fitted jointly by L-BFGS on the mean per-label BCE (BCEWithLogitsLoss)."""
    model = torch.nn.Linear(X.shape[1], Y.shape[1], dtype=torch.float64)
    inputs, targets = torch.tensor(X), torch.tensor(Y)
    optimiser = torch.optim.LBFGS(model.parameters(), max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(inputs), targets)
        loss.backward()
        return loss

    optimiser.step(closure)
    return model


def predict_probabilities(model: torch.nn.Linear, X: np.ndarray) -> np.ndarray:
    """Per-label probabilities sigmoid(model(X)), shape (n, K)."""
    with torch.no_grad():
        return torch.sigmoid(model(torch.tensor(X))).numpy()


def f1_scores(probabilities: np.ndarray, Y: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """F1 of each label (column) when label k is predicted for probabilities >= thresholds[k]; shape (K,).

    F1 = 2 TP / (2 TP + FP + FN); a label with no positives and no predictions scores 0.
    """
    predicted = probabilities >= thresholds
    tp = np.sum(predicted & (Y == 1), axis=0)
    fp = np.sum(predicted & (Y == 0), axis=0)
    fn = np.sum(~predicted & (Y == 1), axis=0)
    return np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)


def f1_curves(probabilities: np.ndarray, Y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """F1 of every label at every threshold of ``grid`` (the same threshold for all labels); shape (len(grid), K)."""
    return np.stack([f1_scores(probabilities, Y, np.full(Y.shape[1], t)) for t in grid])


def label_sets(K: int) -> np.ndarray:
    """All 2^K multi-hot label sets of K labels, shape (2^K, K)."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=K)))


def structured_hinge_by_enumeration(scores: np.ndarray, y: np.ndarray) -> float:
    """max over all label sets y' of [Hamming(y, y') + s(y') - s(y)], with s(y') = scores . y'; by brute force.

    ``scores`` and ``y`` have shape (K,); the enumeration visits all 2^K label sets.
    """
    candidates = label_sets(len(y))
    hamming = np.abs(candidates - y).sum(axis=1)
    return float(np.max(hamming + candidates @ scores - scores @ y))
