"""ex2 — start a child with multiprocessing.Process. Read README.md, then complete the TODOs.

Run it yourself:   python3 solution.py
Grade it:          grade submit ex2
"""

from multiprocessing import Process
import os


def run_proc(name):
    # TODO: print  Run child process <name> (<this process's pid>)...
    pass


if __name__ == '__main__':
    print('Parent process %s.' % os.getpid())
    # TODO: create p = Process(target=run_proc, args=('test',))
    print('Child process will start.')
    # TODO: start the child, then wait for it to finish with p.join().
    print('Child process end.')
