# ruff: noqa: UP031 — written the way students write
"""Network and DNS to the outside, and AF_VSOCK to the hypervisor's host: every attempt must fail."""
import contextlib
import socket

reached = []
for host, port in (("1.1.1.1", 53), ("8.8.8.8", 443), ("151.101.0.223", 80), ("172.17.0.1", 2375)):
    try:
        socket.create_connection((host, port), timeout=1).close()
        reached.append("%s:%d" % (host, port))
    except OSError:
        pass
for name in ("example.com", "www.python.org", "pypi.org"):
    with contextlib.suppress(OSError):
        reached.append(f"{name}={socket.gethostbyname(name)}")
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01", ("8.8.8.8", 53))
    reached.append("udp:" + repr(s.recvfrom(512)[0][:4]))
except OSError:
    pass
try:  # AF_VSOCK goes to the hypervisor's host whatever the network namespace says
    v = socket.socket(40, socket.SOCK_STREAM)
    reached.append("vsock")
    v.settimeout(1)
    v.connect((2, 1024))
    reached.append("vsock:host")
except OSError:
    pass
print("REACHED", reached)
