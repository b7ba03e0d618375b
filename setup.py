"""The native kernels of the readers (ingest/_native.c); everything else is in pyproject.toml.

``optional=True``: without a C compiler the package still installs, and the readers use their
numpy twins (same results, slower).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("ingest._native", ["ingest/_native.c"], optional=True,
                             extra_compile_args=["-O3", "-std=gnu99"],
                             libraries=["m", "pthread"])])
