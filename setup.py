"""Build of the Cython machine model (cyext). Project metadata lives in pyproject.toml."""
import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension("cyext.core", ["cyext/core.pyx"], include_dirs=[numpy.get_include()],
              extra_compile_args=["-O3", "-fno-strict-aliasing", "--param=max-inline-insns-single=4000", "--param=inline-unit-growth=400"],
              define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]),
]

setup(ext_modules=cythonize(extensions, compiler_directives={"language_level": 3}, annotate=False))
