"""Run every Python example in the documentation as a test, so the docs cannot rot.

Generated reference pages (docs/reference/) show signatures, not runnable examples; a test checks them against
the code instead (tests/abi/test_abi.py).
"""

from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

pytest_collect_file = Sybil(
    parsers=[PythonCodeBlockParser(), SkipParser()],
    patterns=["*.md"],
    excludes=["reference/*"],
).pytest()
