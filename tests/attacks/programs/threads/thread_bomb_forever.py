"""Thread bomb: non-daemon threads that sleep forever, created until the pids limit refuses more."""
import threading
import time

print("thread MainThread is running...")
while True:
    try:
        threading.Thread(target=time.sleep, args=(1000,), name="LoopThread").start()
    except RuntimeError:
        time.sleep(0.01)
