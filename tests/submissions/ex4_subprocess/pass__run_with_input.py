import subprocess

print('$ nslookup www.python.org')
r = subprocess.run(['nslookup', 'www.python.org'])
print('Exit code:', r.returncode)

print('$ nslookup')
res = subprocess.run(['nslookup'], input=b'set q=mx\npython.org\nexit\n', capture_output=True)
print(res.stdout.decode('utf-8'))
print('Exit code:', res.returncode)
