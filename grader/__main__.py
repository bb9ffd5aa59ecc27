"""`python -m grader` runs the CLI."""

from grader.cli import main

main()
