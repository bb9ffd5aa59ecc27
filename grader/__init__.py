"""grade: an autograder that judges process exercises by what the program did."""

__version__ = "0.1.0"
