# ex4 forged by file name: nslookup in a scratch folder under /tmp is a symlink to python3, and a Python file
# named www.python.org sits beside it, so `nslookup www.python.org` runs the student's script and prints a
# made-up answer. The second nslookup is the real one. Programs must be known by the path the kernel executed.
import os
import subprocess
import sys
import tempfile

os.chdir(tempfile.mkdtemp())  # /tmp in the Docker sandbox; never a fixed name on a none-sandbox host
with open("www.python.org", "w") as f:
    f.write("print('Server:\\t\\t127.0.0.1')\nprint('Name:\\twww.python.org')\nprint('Address: 151.101.0.223')\n")
os.symlink(sys.executable, "nslookup")
env = dict(os.environ, PATH=os.getcwd() + ":" + os.environ.get("PATH", ""))

print('$ nslookup www.python.org')
r = subprocess.call(['nslookup', 'www.python.org'], env=env)
print('Exit code:', r)

print('$ nslookup')
p = subprocess.Popen(['nslookup'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
output, err = p.communicate(b'set q=mx\npython.org\nexit\n')
print(output.decode('utf-8'))
print('Exit code:', p.returncode)
