from multiprocessing import Process
import os


def run_proc(name):
    print('Run child process %s (%s)...' % (name, os.getpid()))


if __name__ == '__main__':
    print('Parent process %s.' % os.getpid())
    print('Child process will start.')
    run_proc('test')  # called directly: it runs in the parent, no child is created
    print('Child process end.')
