# A bare os.fork() instead of multiprocessing.Process: the same lines, the same child, but not the lesson
import os


def run_proc(name):
    print('Run child process %s (%s)...' % (name, os.getpid()))


if __name__ == '__main__':
    print('Parent process %s.' % os.getpid())
    print('Child process will start.', flush=True)
    pid = os.fork()
    if pid == 0:
        run_proc('test')
        os._exit(0)
    os.waitpid(pid, 0)
    print('Child process end.')
