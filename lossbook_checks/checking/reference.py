"""PyTorch references: where they run and how numpy arrays cross over.

References run on ``cuda`` when ``torch.cuda.is_available()``, else on the CPU, in the
dtype of the numpy input (float64 unless a test says otherwise). Without torch, the values
come from the record shipped with the package (:mod:`.record`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from lossbook_checks.optional_torch import HAS_TORCH, torch

from .record import recording_active, reference_name, reference_value

_forced: tuple[str, Any] | None = None  # (device, float dtype or None) inside forced()


@contextlib.contextmanager
def forced(device_name: str, float_dtype: np.dtype | None = None) -> Iterator[None]:
    """Inside the block, references run on ``device_name`` and :func:`to_torch` casts float arrays to
    ``float_dtype`` (None: each keeps its own). For ``make gpu-check``, which compares devices."""
    global _forced
    previous, _forced = _forced, (device_name, float_dtype)
    try:
        yield
    finally:
        _forced = previous


def device() -> torch.device:
    """The device the references run on: ``cuda`` when available, else ``cpu`` (also while values are
    recorded for the release, and without torch, where it is the string ``"cpu"``), or the one of
    :func:`forced`."""
    if not HAS_TORCH:
        return "cpu"
    if _forced is not None:
        return torch.device(_forced[0])
    return torch.device("cuda" if torch.cuda.is_available() and not recording_active() else "cpu")


def to_torch(value: Any, requires_grad: bool = False) -> Any:
    """A numpy array (or numpy scalar) as a tensor on :func:`device`; other values unchanged."""
    if isinstance(value, np.ndarray | np.generic):
        array = np.array(value, copy=True)
        if _forced is not None and _forced[1] is not None and array.dtype.kind == "f":
            array = array.astype(_forced[1])
        tensor = torch.from_numpy(array).to(device())
        if requires_grad:
            tensor.requires_grad_(True)
        return tensor
    return value


def to_numpy(value: torch.Tensor) -> np.ndarray:
    """A tensor as a numpy array on the host (0-d stays 0-d)."""
    return value.detach().cpu().numpy()


def torch_forward(reference: Callable[..., torch.Tensor], inputs: Mapping[str, Any],
                  options: Mapping[str, Any] | None = None) -> np.ndarray:
    """The reference's value for numpy ``inputs`` and plain ``options``."""
    options = dict(options or {})

    def compute() -> np.ndarray:
        tensors = {name: to_torch(value) for name, value in inputs.items()}
        with torch.no_grad():
            return to_numpy(reference(**tensors, **options))

    return reference_value(f"forward {reference_name(reference)}", (dict(inputs), options), compute)


def torch_vjp(reference: Callable[..., torch.Tensor], inputs: Mapping[str, Any],
              wrt: Sequence[str], grad_output: Any = 1.0,
              options: Mapping[str, Any] | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The reference's value and its vector-Jacobian products by autograd.

    ``grad_output`` has the shape of the value (a scalar for a reduced loss): the
    returned gradients are ``d(sum(value * grad_output)) / d input`` for each name in
    ``wrt``, each with that input's shape.
    """
    options = dict(options or {})

    def compute() -> tuple[np.ndarray, dict[str, np.ndarray]]:
        tensors = {name: to_torch(value, requires_grad=name in wrt) for name, value in inputs.items()}
        value = reference(**tensors, **options)
        upstream = torch.as_tensor(np.asarray(grad_output), dtype=value.dtype, device=value.device)
        grads = torch.autograd.grad(value, [tensors[name] for name in wrt],
                                    grad_outputs=upstream.expand_as(value), allow_unused=True)
        out = {}
        for name, grad in zip(wrt, grads, strict=True):
            out[name] = (np.zeros_like(inputs[name]) if grad is None else to_numpy(grad))
        return to_numpy(value), out

    return reference_value(f"vjp {reference_name(reference)}", (dict(inputs), list(wrt), grad_output, options),
                           compute)
