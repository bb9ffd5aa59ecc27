"""Tries to raise the hard limits (refused) and lowers them to odd values (allowed, harmless)."""
import resource

for name in ("RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_CORE", "RLIMIT_NPROC", "RLIMIT_AS"):
    res = getattr(resource, name)
    soft, hard = resource.getrlimit(res)
    want = resource.RLIM_INFINITY
    try:
        resource.setrlimit(res, (want, want))
        print(name, "raised", hard == want)
    except (ValueError, OSError):
        print(name, "refused")
resource.setrlimit(resource.RLIMIT_NOFILE, (3, 3))
resource.setrlimit(resource.RLIMIT_CPU, (1, 1))
while True:
    pass
