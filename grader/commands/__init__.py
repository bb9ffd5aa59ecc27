"""Command groups of the `grade` CLI, one module each; cli.py registers them."""
