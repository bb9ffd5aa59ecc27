"""A process chain 1,500 generations deep with never more than 3 processes alive: each generation forks the
next and leaves at once, so the next is an orphan the sandbox's init reaps. Should the init fall behind (its
zombies count against the pids limit of 64), a generation waits a little and forks again rather than die.
Main waits for the whole chain through a pipe every generation holds open. A tree walked by recursion
overflows Python's stack on it (issue 14, item 10)."""
import os
import time

DEPTH = 1500


def fork() -> int:
    for _ in range(200):
        try:
            return os.fork()
        except BlockingIOError:  # EAGAIN: zombies not yet reaped fill the pids limit
            time.sleep(0.01)
    os._exit(1)


r, w = os.pipe()
first = os.fork()
if first == 0:
    os.close(r)
    for _ in range(DEPTH - 1):
        if fork():
            os._exit(0)  # this generation's only child is started: leave it to the sandbox's init
    os.write(w, b"%d" % DEPTH)
    os._exit(0)
os.close(w)
os.waitpid(first, 0)
got = b""
while chunk := os.read(r, 64):
    got += chunk
print(f"the chain reached {got.decode() or 'no'} generations", flush=True)
