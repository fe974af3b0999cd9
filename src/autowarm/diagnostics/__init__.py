"""Diagnostics of why warm-up is needed: the smoothness probe and its fit, update-size metrics."""
