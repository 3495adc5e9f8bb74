"""Command-line entry points (thin Hydra wrappers around plain functions)."""
