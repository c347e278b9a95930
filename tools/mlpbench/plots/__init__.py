"""Figures drawn from run logs, study folders and weights files."""
