"""Deep networks and the statistics the gradient-flow chapter measures on them."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "linear": nn.Identity, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01), "elu": nn.ELU, "silu": nn.SiLU, "gelu": nn.GELU,
}


class Residual(nn.Module):
    """``x + block(x)``."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def deep_mlp(depth: int, width: int, activation: str, init: Callable[[torch.Tensor], object] | None = None,
             residual: bool = False, norm: bool = False, seed: int = 0) -> nn.Sequential:
    """``depth`` blocks ``Linear(width, width) [-> BatchNorm1d] -> activation`` (each wrapped as
    ``x + block(x)`` when ``residual``); ``init`` (e.g. ``nn.init.xavier_normal_``) sets each weight,
    biases are 0; without ``init`` torch's default ``nn.Linear`` initialisation is kept."""
    torch.manual_seed(seed)
    blocks = []
    for _ in range(depth):
        linear = nn.Linear(width, width)
        if init is not None:
            init(linear.weight)
            nn.init.zeros_(linear.bias)
        layers = [linear, *([nn.BatchNorm1d(width)] if norm else []), ACTIVATIONS[activation]()]
        block = nn.Sequential(*layers)
        blocks.append(Residual(block) if residual else block)
    return nn.Sequential(*blocks)


def linear_layers(net: nn.Module) -> list[nn.Linear]:
    """The ``nn.Linear`` modules of ``net`` in order."""
    return [m for m in net.modules() if isinstance(m, nn.Linear)]


def layer_gradient_norms(net: nn.Module, x: torch.Tensor, loss: Callable[[torch.Tensor], torch.Tensor]
                         ) -> torch.Tensor:
    """``||dL/dW_l||_F`` of every linear layer of ``net`` for ``L = loss(net(x))`` (first layer first)."""
    layers = linear_layers(net)
    grads = torch.autograd.grad(loss(net(x)), [layer.weight for layer in layers])
    return torch.stack([g.norm() for g in grads])


def layer_second_moments(net: nn.Sequential, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per block of ``net``: the mean square of its output and of the gradient that reaches it (the loss is
    ``sum(out * r)`` for a fixed standard normal ``r``, so the backward pass starts with unit mean square)."""
    outputs = []
    h = x
    for block in net:
        h = block(h)
        h.retain_grad()
        outputs.append(h)
    r = torch.randn(h.shape, generator=torch.Generator().manual_seed(1), dtype=h.dtype)
    (h * r).sum().backward()
    return (torch.stack([o.detach().pow(2).mean() for o in outputs]),
            torch.stack([o.grad.pow(2).mean() for o in outputs]))


def activation_gradient_norms(net: nn.Sequential, x: torch.Tensor,
                              loss: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """``||dL/dh_l||`` for the output ``h_l`` of every block of ``net`` (first block first)."""
    outputs = []
    h = x
    for block in net:
        h = block(h)
        outputs.append(h)
    grads = torch.autograd.grad(loss(h), outputs)
    return torch.stack([g.norm() for g in grads])
