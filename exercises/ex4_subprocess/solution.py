"""ex4 — run nslookup with subprocess. Read README.md, then complete the TODOs.

Run it yourself:   python3 solution.py
Grade it:          grade submit ex4
"""

import subprocess

print('$ nslookup www.python.org')

# TODO: run ['nslookup', 'www.python.org'] with subprocess.call() (a list, no shell=True),
#       then print  Exit code: <the return code you got>

print('$ nslookup')

# TODO: start ['nslookup'] with subprocess.Popen(), stdin/stdout/stderr set to subprocess.PIPE.
# TODO: send it b'set q=mx\npython.org\nexit\n' with communicate(), which returns (output, err).
# TODO: print the output decoded as UTF-8, then print  Exit code: <its returncode>
