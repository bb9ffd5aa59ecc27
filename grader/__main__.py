"""`python -m grader` runs the CLI, as the `grade` command does."""

from grader.entry import main

main()
