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


def train_full_batch(net: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, lr: float) -> torch.Tensor:
    """Train ``net`` in place by full-batch Adam (learning rate ``lr``) on the mean squared error to ``y``;
    return the loss before each of the ``steps`` steps, shape ``(steps,)``."""
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        optimiser.zero_grad()
        loss = nn.functional.mse_loss(net(x), y)
        loss.backward()
        optimiser.step()
        losses.append(loss.detach())
    return torch.stack(losses)


class NormResidualBlock(nn.Module):
    """A transformer-style MLP block ``F = Linear(w, 4w) -> ReLU -> Linear(4w, w)`` with a layer norm placed
    before the branch (``"pre"``: ``x + F(LN(x))``) or after the sum (``"post"``: ``LN(x + F(x))``)."""

    def __init__(self, width: int, placement: str) -> None:
        super().__init__()
        if placement not in ("pre", "post"):
            raise ValueError(f"placement must be 'pre' or 'post', not {placement!r}")
        self.placement = placement
        self.norm = nn.LayerNorm(width)
        self.branch = nn.Sequential(nn.Linear(width, 4 * width), nn.ReLU(), nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.placement == "pre":
            return x + self.branch(self.norm(x))
        return self.norm(x + self.branch(x))


def norm_residual_stack(depth: int, width: int, placement: str, seed: int = 0) -> nn.Sequential:
    """``depth`` :class:`NormResidualBlock` s and a linear read-out; pre-LN stacks end with a final layer norm,
    as pre-LN transformers do. Input and output ``(N, width)``; torch's default initialisation."""
    torch.manual_seed(seed)
    final = [nn.LayerNorm(width)] if placement == "pre" else []
    return nn.Sequential(*[NormResidualBlock(width, placement) for _ in range(depth)], *final, nn.Linear(width, width))


def input_dependence(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                     index: tuple[int, ...]) -> torch.Tensor:
    """Boolean mask, shaped like ``x``: the input elements that the output element ``fn(x)[index]`` depends on
    (its non-zero gradient at ``x``, so ``x`` should be random to avoid accidental zeros)."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(x)[index], x)
    return grad != 0
