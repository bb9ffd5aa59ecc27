"""Reads stdin, which is empty: input() fails with EOFError."""
name = input("your name? ")
print("hello", name)
