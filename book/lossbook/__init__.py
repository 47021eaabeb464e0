"""Helpers shared by the chapter pages: derivation checks, data sets and plots.

Pages import these instead of pasting code:

- :mod:`lossbook.verify`: assertions that fail the book build when a stated formula is wrong;
- :mod:`lossbook.data`: seeded synthetic data sets used by the experiments;
- :mod:`lossbook.plots`: the book's figure style and the loss/derivative plots.
"""
