import multiprocessing
import os


def run_proc(name):
    print('Run child process %s (%s)...' % (name, os.getpid()))


if __name__ == '__main__':
    ctx = multiprocessing.get_context('spawn')
    print('Parent process %s.' % os.getpid())
    p = ctx.Process(target=run_proc, args=('test',), daemon=True)
    print('Child process will start.')
    p.start()
    p.join()
    print('Child process end.')
