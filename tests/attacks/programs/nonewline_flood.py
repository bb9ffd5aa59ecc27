"""Output flood with no newline at all: the grader must not buffer it whole."""
import os

chunk = b"x" * 65536
while True:
    os.write(1, chunk)
