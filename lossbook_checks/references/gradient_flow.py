"""References for the ``gradient_flow`` assignment: torch's own functions, same names and defaults.

- activations: ``torch.nn.functional`` (``leaky_relu``, ``elu``, ``silu``, ``gelu``); their
  gradients are autograd's, kinks included (leaky ReLU and ELU take the negative branch at 0);
- initialisers: the numbers ``torch.nn.init`` uses (``calculate_gain``, its fan computation, and
  the bound or standard deviation each initialiser draws from), as 0-d float64 tensors;
- normalisation: ``F.batch_norm`` (with copies of the running statistics, which it updates in
  place, returned beside the output) and ``F.layer_norm``;
- ``deep_mlp_gradient_norms``: autograd through an MLP with the mean squared error;
- clipping: ``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_`` applied to the ``.grad``
  of fresh parameters.

Functions whose arguments are lists of arrays (gradients, parameters) convert them here, since
the checks convert only top-level arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lossbook_checks.checking.reference import device
from lossbook_checks.optional_torch import F, torch

init = torch.nn.init


def leaky_relu(input: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """``F.leaky_relu``."""
    return F.leaky_relu(input, negative_slope=negative_slope)


def elu(input: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """``F.elu``."""
    return F.elu(input, alpha=alpha)


def silu(input: torch.Tensor) -> torch.Tensor:
    """``F.silu``: ``x * sigmoid(x)``."""
    return F.silu(input)


def gelu(input: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    """``F.gelu``: exact (``"none"``) or the tanh approximation (``"tanh"``)."""
    return F.gelu(input, approximate=approximate)


def _scalar(value: float) -> torch.Tensor:
    return torch.tensor(float(value), dtype=torch.float64)


def calculate_gain(nonlinearity: str, param: float | None = None) -> torch.Tensor:
    """``torch.nn.init.calculate_gain``."""
    return _scalar(init.calculate_gain(nonlinearity, param))


def fan_in_and_fan_out(shape: Sequence[int]) -> torch.Tensor:
    """``(fan_in, fan_out)`` as ``torch.nn.init`` computes them for a weight of this shape."""
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(torch.empty(tuple(shape)))
    return torch.tensor([fan_in, fan_out], dtype=torch.float64)


def xavier_normal_std(shape: Sequence[int], gain: float = 1.0) -> torch.Tensor:
    """The standard deviation ``init.xavier_normal_`` draws from: ``gain sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(torch.empty(tuple(shape)))
    return _scalar(gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def xavier_uniform_bound(shape: Sequence[int], gain: float = 1.0) -> torch.Tensor:
    """The bound ``a`` of ``init.xavier_uniform_``'s ``U(-a, a)``: ``sqrt(3)`` times the normal's std."""
    return math.sqrt(3.0) * xavier_normal_std(shape, gain)


def kaiming_normal_std(shape: Sequence[int], a: float = 0.0, mode: str = "fan_in",
                       nonlinearity: str = "leaky_relu") -> torch.Tensor:
    """The standard deviation ``init.kaiming_normal_`` draws from: ``gain / sqrt(fan)``."""
    fan = init._calculate_correct_fan(torch.empty(tuple(shape)), mode)
    return _scalar(init.calculate_gain(nonlinearity, a) / math.sqrt(fan))


def kaiming_uniform_bound(shape: Sequence[int], a: float = 0.0, mode: str = "fan_in",
                          nonlinearity: str = "leaky_relu") -> torch.Tensor:
    """The bound of ``init.kaiming_uniform_``'s ``U(-bound, bound)``: ``sqrt(3) gain / sqrt(fan)``."""
    return math.sqrt(3.0) * kaiming_normal_std(shape, a, mode, nonlinearity)


def batch_norm(input: torch.Tensor, running_mean: torch.Tensor, running_var: torch.Tensor,
               weight: torch.Tensor | None = None, bias: torch.Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``F.batch_norm`` on ``input`` ``(N, C, *)``; returns ``(output, new running_mean, new running_var)``.

    The running statistics are copied first, since ``F.batch_norm`` updates them in place.
    """
    new_mean, new_var = running_mean.detach().clone(), running_var.detach().clone()
    output = F.batch_norm(input, new_mean, new_var, weight, bias, training=training, momentum=momentum, eps=eps)
    return output, new_mean, new_var


def layer_norm(input: torch.Tensor, normalized_shape: Sequence[int], weight: torch.Tensor | None = None,
               bias: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    """``F.layer_norm`` over the trailing dimensions ``normalized_shape``."""
    return F.layer_norm(input, tuple(normalized_shape), weight, bias, eps)


ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda h: h}


def deep_mlp_gradient_norms(params: Sequence[Sequence[np.ndarray]], x: torch.Tensor, y: torch.Tensor,
                            activation: str = "relu") -> torch.Tensor:
    """``||dL/dW_l||_F`` for each layer ``l`` of ``h_l = f(h_{l-1} W_l^T + b_l)`` (no ``f`` on the last
    layer), ``L = F.mse_loss(h_L, y)``; ``params`` is a list of ``(W_l, b_l)`` numpy pairs. Shape ``(L,)``."""
    weights = [torch.tensor(W, device=device(), requires_grad=True) for W, _ in params]
    biases = [torch.tensor(b, device=device()) for _, b in params]
    with torch.enable_grad():
        h = x
        for layer, (W, b) in enumerate(zip(weights, biases, strict=True)):
            h = F.linear(h, W, b)
            if layer < len(weights) - 1:
                h = ACTIVATIONS[activation](h)
        grads = torch.autograd.grad(F.mse_loss(h, y), weights)
    return torch.stack([torch.linalg.vector_norm(g) for g in grads])


def _parameters_with_grads(grads: Sequence[np.ndarray]) -> list[torch.nn.Parameter]:
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros(np.shape(g), dtype=torch.from_numpy(np.asarray(g)).dtype,
                                           device=device()))
        p.grad = torch.tensor(np.asarray(g), device=device())
        params.append(p)
    return params


def clip_grad_norm(grads: Sequence[np.ndarray], max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False) -> tuple[list[torch.Tensor], torch.Tensor]:
    """``torch.nn.utils.clip_grad_norm_`` on parameters whose ``.grad`` are ``grads``:
    ``(clipped gradients, total norm)``; raises ``RuntimeError`` as torch does."""
    params = _parameters_with_grads(grads)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type,
                                           error_if_nonfinite=error_if_nonfinite)
    return [p.grad for p in params], total


def clip_grad_value(grads: Sequence[np.ndarray], clip_value: float) -> list[torch.Tensor]:
    """``torch.nn.utils.clip_grad_value_``: every element clamped to ``[-clip_value, clip_value]``."""
    params = _parameters_with_grads(grads)
    torch.nn.utils.clip_grad_value_(params, clip_value)
    return [p.grad for p in params]
