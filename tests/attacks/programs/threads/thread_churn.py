"""Thread churn: short threads started and joined as fast as possible until the time limit."""
import threading

n = 0
while True:
    t = threading.Thread(target=int)
    t.start()
    t.join()
    n += 1
