"""Generative models and the inference engine (torch allowed, Qt never).

Importing this package imports no torch: submodules do, when they are used.
"""
