"""Checks for the ``sequence_losses`` assignment (grader side).

The cells with several outputs or several gradients use the structured checks of
:mod:`.gradient_flow` (:func:`check_outputs`, :func:`check_gradients`), re-exported here. CTC's backward
is compared through a log-softmax (:func:`through_log_softmax`), since ``F.ctc_loss``'s own gradient
with respect to ``log_probs`` is not the partial derivative (pytorch/pytorch#52241).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .gradient_flow import check_gradients, check_outputs

__all__ = ["check_gradients", "check_outputs", "through_log_softmax"]


def through_log_softmax(ctc_loss_backward: Callable[..., Any]) -> Callable[..., Any]:
    """A student's ``ctc_loss_backward`` (the partial derivative ``g`` with respect to ``log_probs``) turned into
    the gradient with respect to logits equal to ``log_probs``, through a log-softmax: ``g - softmax(log_probs)
    * sum_c g``, what autograd gives for ``F.ctc_loss(logits.log_softmax(-1), ...)``. (CTC's posteriors do not
    change when a step's log-probabilities are shifted together, so this holds also for rows that sum to
    1 only nearly.) A value that is not an array of ``log_probs``' shape is passed on unchanged, for the
    comparison to report. Keeps the student's function name for messages."""
    @functools.wraps(ctc_loss_backward)
    def logits_gradient(log_probs: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        grad = ctc_loss_backward(log_probs, *args, **kwargs)
        try:
            g = np.asarray(grad, dtype=np.float64)
        except (TypeError, ValueError):
            return grad
        if g.shape != np.shape(log_probs):
            return grad
        shifted = np.asarray(log_probs, dtype=np.float64)
        probs = np.exp(shifted - shifted.max(axis=-1, keepdims=True))
        return g - probs / probs.sum(axis=-1, keepdims=True) * g.sum(axis=-1, keepdims=True)
    return logits_gradient
