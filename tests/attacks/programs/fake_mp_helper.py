"""ex2 with a second child whose command line merely mentions multiprocessing.resource_tracker, to be
taken for multiprocessing's helper and left out of the count."""

import os
import subprocess
import sys
from multiprocessing import Process


def run_proc(name):
    print('Run child process %s (%s)...' % (name, os.getpid()))


if __name__ == '__main__':
    print('Parent process %s.' % os.getpid())
    subprocess.run([sys.executable, '-c', 'import sys; sys.exit(0)', 'multiprocessing.resource_tracker'])
    p = Process(target=run_proc, args=('test',))
    print('Child process will start.')
    p.start()
    p.join()
    print('Child process end.')
