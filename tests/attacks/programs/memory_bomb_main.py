"""Memory bomb in main: one huge allocation, touched."""
hoard = []
while True:
    hoard.append(bytearray(32 << 20))
