import subprocess

print('$ nslookup www.python.org', flush=True)
r = subprocess.call(['nslookup', 'www.python.org'])
print('Exit code: %d' % r)

print('$ nslookup')
try:
    out = subprocess.check_output(['nslookup'], input='set q=mx\npython.org\nexit\n', text=True)
    code = 0
except subprocess.CalledProcessError as e:
    out, code = e.output, e.returncode
print(out)
print('exit code:', code)
