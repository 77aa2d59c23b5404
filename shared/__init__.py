"""The spec both backends read: config, data, init, batch order, training loop, metrics.

Formulas live in ``shared/MATH.md``. Nothing here imports torch at module level.
"""
