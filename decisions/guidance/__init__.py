"""Guidance packs: the flowchart engine (pure Python), pack validation, and stored versions.

engine.py walks a pack with the answers so far; schema.py validates pack JSON into an
engine.Pack; store.py keeps each version in the database and says which one is current.
"""
