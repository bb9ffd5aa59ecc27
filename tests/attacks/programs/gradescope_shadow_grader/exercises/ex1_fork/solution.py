"""ex1 — fork a child process. Read README.md, then complete the TODOs.

Run it yourself:   python3 solution.py
Grade it:          grade submit ex1
"""

import os

print('Process (%s) start...' % os.getpid())

# TODO: create a child process with os.fork().

# TODO: in the child (fork returned 0): print
#       I am child process (<its pid>) and my parent is <its parent's pid>.
#       then end the child with status 0 (os._exit(0) or sys.exit(0)).

# TODO: in the parent (fork returned the child's pid): print
#       I (<its pid>) just created a child process (<the child's pid>).
#       then wait for the child with os.wait() or os.waitpid().
