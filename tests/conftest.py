import os
import sys

# tests/reference.py is imported as `reference` by the test modules.
sys.path.insert(0, os.path.dirname(__file__))
