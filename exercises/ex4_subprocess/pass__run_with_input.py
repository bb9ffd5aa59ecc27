# subprocess.run for both, the MX query fed with input= as text
import subprocess

print('$ nslookup www.python.org')
r = subprocess.run(['nslookup', 'www.python.org'])
print('Exit code:', r.returncode)

print('$ nslookup')
p = subprocess.run(['nslookup'], input='set q=mx\npython.org\nexit\n', capture_output=True, text=True)
print(p.stdout)
print('Exit code:', p.returncode)
