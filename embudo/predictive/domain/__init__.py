"""Predictive scoring, pure: feature typing and encoding, the model, the naive-Bayes baseline, metrics.

No Django here (import-linter). numpy and scikit-learn are plain libraries and allowed.
"""
