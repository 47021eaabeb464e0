"""PyTorch when it is installed; otherwise named stand-ins, so that every module of the package imports.

The visible tests need numpy only: without torch, the checks compare with the reference values
recorded when the release was built (:mod:`lossbook_checks.checking.record`). The references
(``lossbook_checks.references.<assignment>``) still import there, and each reference keeps its name,
which is how a recorded value is found; only calling one (or anything else of torch) raises.
"""

from __future__ import annotations

from typing import Any

INSTALL_TORCH = ('this needs PyTorch, which is not installed here; the visible tests use the values recorded '
                 'with the package. To check other inputs, install it: pip install "lossbook-checks[torch]"')


class Unavailable:
    """Stands for ``torch`` (or ``torch.<path>``) where torch is not installed.

    Any attribute is another stand-in (``torch.optim.SGD``); its ``__name__`` is the last part of the
    path, as the real object's is. Calling one raises :class:`ModuleNotFoundError`.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.__name__ = self.__qualname__ = path.rsplit(".", 1)[-1]
        self.__module__ = path.rsplit(".", 1)[0]

    def __getattr__(self, name: str) -> Unavailable:
        if name.startswith("__"):
            raise AttributeError(name)
        return Unavailable(f"{self.path}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise ModuleNotFoundError(f"{self.path}: {INSTALL_TORCH}", name="torch")

    def __repr__(self) -> str:
        return f"<{self.path}: torch is not installed>"


try:
    import torch
    import torch.nn.functional as F
except ModuleNotFoundError:
    torch = Unavailable("torch")
    F = torch.nn.functional

HAS_TORCH = not isinstance(torch, Unavailable)

__all__ = ["F", "HAS_TORCH", "INSTALL_TORCH", "Unavailable", "torch"]
