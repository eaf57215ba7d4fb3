"""Build of the Cython machine model (cyext). Project metadata lives in pyproject.toml.

Before cythonizing, cyext/generate.py writes the sources derived from cyext/encoding.py (the Op enum
and the decoder's tables; git-ignored), so a clean clone builds with `pip install -e .` or
`python setup.py build_ext --inplace`.
"""
import importlib.util
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

_spec = importlib.util.spec_from_file_location("_mrwb_generate", Path(__file__).resolve().parent / "cyext" / "generate.py")
_generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_generate)
_generate.write()

extensions = [
    Extension("cyext.core", ["cyext/core.pyx"], include_dirs=[numpy.get_include()],
              extra_compile_args=["-O3", "-fno-strict-aliasing", "--param=max-inline-insns-single=4000", "--param=inline-unit-growth=400"],
              define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]),
]

setup(ext_modules=cythonize(extensions, compiler_directives={"language_level": 3}, annotate=False))
