"""``python -m autograder``: the instructor CLI."""

from .cli import main

main()
