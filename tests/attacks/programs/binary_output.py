"""Invalid UTF-8 and binary output on both streams."""
import os
import sys

sys.stdout.buffer.write(b"\xff\xfe\x00binary\x80\xc3\x28\n" + bytes(range(256)) + b"\n")
sys.stderr.buffer.write(b"\xed\xa0\x80 surrogate \xf4\x90\x80\x80\n")
os.write(1, os.urandom(4096))
