"""The import pipeline: read → normalise → validate → diff → commit.

One engine (`engine.py`) does the work; each sheet kind (`kinds.py`) declares its
columns, how a row is checked against what exists, and how a plan is written. Later
apps register their own kinds with `engine.register`.
"""
