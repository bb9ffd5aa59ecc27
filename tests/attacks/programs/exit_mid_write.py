"""os._exit from a thread while main is in the middle of a big write."""
import os
import threading
import time


def leave():
    time.sleep(0.05)
    os._exit(3)


threading.Thread(target=leave).start()
r, w = os.pipe()
os.write(1, b"partial line without end " * 1000)
os.write(w, b"y" * 65536)  # fills the pipe: blocks until _exit
os.write(w, b"z")
