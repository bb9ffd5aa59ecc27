import os
import queue

q = queue.Queue()
print('Process to write: %s' % os.getpid())
for value in ['A', 'B', 'C']:
    print('Put %s to queue...' % value)
    q.put(value)
print('Process to read: %s' % os.getpid())
while not q.empty():
    print('Get %s from queue.' % q.get(True))
