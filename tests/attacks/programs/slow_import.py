"""A 25-second import: the module body sleeps before doing anything."""
import time

time.sleep(25)
print("Process (1) start...")
