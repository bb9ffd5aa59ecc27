import subprocess

# the lookup of a name the DNS server refuses really fails (exit 1), yet 0 is printed
print('$ nslookup www.example.org')
subprocess.call(['nslookup', 'www.example.org'])
print('Exit code: 0')

print('$ nslookup')
p = subprocess.Popen(['nslookup'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
output, err = p.communicate(b'set q=mx\npython.org\nexit\n')
print(output.decode('utf-8'))
print('Exit code:', p.returncode)
