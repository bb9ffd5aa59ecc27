"""No thread: the loop is called directly in the main thread, with the right words."""
import threading


def loop():
    for n in range(1, 6):
        print("thread LoopThread >>> %d" % n)
    print("thread LoopThread ended.")


print("thread %s is running..." % threading.current_thread().name)
loop()
print("thread %s ended." % threading.current_thread().name)
