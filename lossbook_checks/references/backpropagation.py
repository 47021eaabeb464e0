"""References for the ``backpropagation`` assignment.

Layers follow ``torch.nn.functional`` and the batch-first convention of ``nn.Linear``:
``x`` is ``(N, in)``, ``W`` is ``(out, in)``, ``b`` is ``(out,)`` and the output is
``x @ W.T + b``, shape ``(N, out)``. Gradients are whatever autograd computes through
these expressions (``relu``'s gradient at 0 is 0, as in torch).

The smooth test functions of ``numerical_gradient`` live in
:mod:`lossbook_checks.cases.backpropagation_programs`, written once for numpy and torch.
"""

from __future__ import annotations

from lossbook_checks.optional_torch import F, torch

from . import classification_losses


def linear(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``F.linear``: ``x @ W.T + b``; ``(N, in), (out, in), (out,) -> (N, out)``."""
    return F.linear(x, W, b)


def relu(x: torch.Tensor) -> torch.Tensor:
    """``torch.relu``; its gradient at 0 is 0."""
    return torch.relu(x)


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """The classification reference ``sigmoid``, with its argument named ``x`` like this assignment's layers."""
    return classification_losses.sigmoid(x)


def tanh(x: torch.Tensor) -> torch.Tensor:
    """``torch.tanh``."""
    return torch.tanh(x)


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``F.cross_entropy`` with the mean over the batch: logits ``(N, C)``, labels ``(N,)`` int64."""
    return F.cross_entropy(logits, labels)


def mlp_loss(x: torch.Tensor, labels: torch.Tensor, W1: torch.Tensor, b1: torch.Tensor, W2: torch.Tensor,
             b2: torch.Tensor, W3: torch.Tensor, b3: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of ``linear -> relu -> linear -> tanh -> linear`` on ``x`` ``(N, D)``."""
    h1 = torch.relu(F.linear(x, W1, b1))
    h2 = torch.tanh(F.linear(h1, W2, b2))
    return F.cross_entropy(F.linear(h2, W3, b3), labels)


def softplus(x: torch.Tensor) -> torch.Tensor:
    """``F.softplus`` (``log(1 + e^x)``; torch returns ``x`` itself above 20, within 2e-9 of it)."""
    return F.softplus(x)


def cross_entropy_hvp(logits: torch.Tensor, labels: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``H v`` for the Hessian ``H`` of :func:`cross_entropy` in the logits, by double backward (``(N, C)``)."""
    with torch.enable_grad():
        z = logits.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(F.cross_entropy(z, labels), z, create_graph=True)
        (product,) = torch.autograd.grad(grad, z, grad_outputs=v)
    return product
