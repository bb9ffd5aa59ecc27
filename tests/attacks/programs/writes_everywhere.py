"""Writes to and symlinks in every path, planting links at the trace and the result."""
import os

targets = ["/", "/etc", "/usr", "/usr/local/lib", "/opt/grade", "/run", "/run/grade", "/submission", "/tmp",
           "/dev/shm", "/var/tmp", "/root", "/home", "/proc/1", "/sys/fs/cgroup", "/etc/resolv.conf.d"]
writable = []
for d in targets:
    path = os.path.join(d, "pwned")
    try:
        with open(path, "w") as f:
            f.write("x")
        writable.append(d)
    except OSError:
        pass
    try:
        os.symlink("/run/grade/trace", os.path.join(d, "trace"))
        writable.append(d + " (symlink)")
    except OSError:
        pass
for victim in ("/submission/solution.py", "/etc/resolv.conf", "/opt/grade/entrypoint.py", "/run/grade/trace"):
    try:
        with open(victim, "a") as f:
            f.write("# pwned\n")
        writable.append(victim)
    except OSError:
        pass
    try:
        os.unlink(victim)
        writable.append(victim + " (unlinked)")
    except OSError:
        pass
print("WRITABLE", sorted(writable))
