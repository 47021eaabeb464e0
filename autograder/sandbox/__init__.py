"""Running untrusted submissions: a confined kernel process and the trusted side that grades it.

- :mod:`.kernel` runs in its own process, confined by :mod:`.confine` (resource limits, no
  capabilities, Landlock filesystem/network/signal rules where the OS has them), in a
  working directory outside the course. It executes the student's cells and answers
  calls to the student's functions with plain data.
- :mod:`.client` starts and talks to that process from the trusted grader; :mod:`.runner`
  executes a notebook: student cells in the kernel, test cells in the grader itself, where
  the checking package and the references cannot be patched by the submission.
- :mod:`.preprocessors` plugs this into nbgrader's ``autograde`` (see nbgrader_config.py).
- :mod:`.protocol` is the wire format; everything read from the kernel is decoded as data.
"""
