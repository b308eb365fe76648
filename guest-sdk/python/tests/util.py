"""Puts the SDK (and this folder, for fake_wit) on sys.path for the tests."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.dirname(HERE)
for p in (SDK, HERE):
    if p not in sys.path:
        sys.path.insert(0, p)
