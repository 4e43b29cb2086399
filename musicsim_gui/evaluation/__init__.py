"""Evaluation: FAD, MSE, SDR, listening-test results and reports."""
