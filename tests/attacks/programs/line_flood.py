"""Output flood, line by line."""
while True:
    print("Process (1) start... " * 4)
