"""Extractors: the only code that touches torch, each turning one kind of graph into ``jitviz.ir``."""
