import os
import sys

# benchmarks share the slow twins of tests/reference.py
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
