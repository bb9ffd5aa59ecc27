"""Thread bomb: threads that sleep forever, created until the limit."""
import threading
import time

while True:
    try:
        threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()
    except RuntimeError:
        time.sleep(0.01)
