"""The package list pyproject.toml cannot express: the engine (grader*) plus the seed pack's folder, which
pyproject maps to the package grade_pack_seed. Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["grader*"]), "grade_pack_seed"])
