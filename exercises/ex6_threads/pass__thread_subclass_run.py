"""A Thread subclass with run(), f-strings: the same behaviour in other words."""
import threading
import time


class Loop(threading.Thread):
    def run(self):
        for n in range(1, 6):
            print(f"thread {threading.current_thread().name} >>> {n}")
            time.sleep(0.02)
        print(f"thread {self.name} ended.")


print(f"thread {threading.current_thread().name} is running...")
t = Loop(name="LoopThread")
t.start()
t.join()
print(f"thread {threading.current_thread().name} ended.")
