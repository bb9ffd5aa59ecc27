import subprocess

print('$ nslookup www.python.org')
r = subprocess.call(['nslookup', 'www.python.org'])
print('Exit code:', r)

# nslookup is started, but the MX query is never written to its stdin: the answer is made up
print('$ nslookup')
p = subprocess.Popen(['nslookup'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
output, err = p.communicate(b'exit\n')
print('python.org\tmail exchanger = 50 mail.python.org.')
print('Exit code:', p.returncode)
