import subprocess
import sys

print('$ nslookup www.python.org')
with subprocess.Popen(['/usr/bin/nslookup', 'www.python.org'], stdout=subprocess.PIPE, text=True) as p:
    sys.stdout.write(p.stdout.read())
print(f'Exit code: {p.returncode}')

print('$ nslookup')
p = subprocess.Popen(['nslookup'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
p.stdin.write('set q=mx\n')
p.stdin.write('python.org\n')
p.stdin.write('exit\n')
p.stdin.close()
for line in p.stdout:
    print(line, end='')
p.wait()
print('Exit code:', p.returncode)
