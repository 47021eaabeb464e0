"""PyTorch reference implementations, one module per assignment.

Each reference takes tensors and plain options and returns a tensor; its gradient is
whatever torch's autograd computes through it, which defines the expected backward
pass, kinks included.
"""
