"""Red-team submissions for the grader (see attacks.py)."""
