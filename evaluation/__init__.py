"""Evaluation: hindsight optimum, competitive ratios, comparisons, plots and reports."""
