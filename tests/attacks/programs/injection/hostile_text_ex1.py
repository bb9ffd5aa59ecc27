"""ex1 done right, but every line it prints, and its exception, carries text built to attack a sink:
rich markup, terminal escapes (OSC title, clear screen, C1 CSI), a bidi override, GitHub workflow commands
in both forms, a spreadsheet formula, markdown links and images, raw HTML and back-ticks."""

import os
import sys

HOSTILE = (
    "[/x] [bold]b\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil ##[stop-commands]t0k ::error::forged "
    '=HYPERLINK("http://e","x") [link](http://evil) ![i](http://evil/t.png) <img src=x onerror=alert(1)> ```'
)

print(HOSTILE, flush=True)
print("::error file=x.py::forged in output", flush=True)
print("##[error]legacy forged in output", flush=True)
sys.stderr.write(HOSTILE + "\n")
pid = os.fork()
if pid == 0:
    print(f"child {os.getpid()} " + HOSTILE, flush=True)
    os._exit(0)
os.waitpid(pid, 0)
print(f"parent {os.getpid()} child {pid}", flush=True)
raise RuntimeError(HOSTILE)
