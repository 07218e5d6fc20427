"""Qinyuan Ops: the operations dashboard of the 沁园红 volunteer teams."""

__version__ = "0.1.0"
