import os
import time
from multiprocessing import Process


class Child(Process):
    def __init__(self, name):
        super().__init__()
        self.label = name

    def run(self):
        time.sleep(0.1)
        print('Run child process %s (%d)...' % (self.label, os.getpid()), flush=True)


if __name__ == '__main__':
    print('Parent process %d.' % os.getpid())
    p = Child('test')
    print('Child process will start.')
    p.start()
    p.join()
    print('Child process end.')
