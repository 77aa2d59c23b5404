"""twinmlp: one MLP written twice (NumPy reference, torch port), held equal by parity tests.

The application layer: command line, parity verdicts, and (later) benchmarks and plots.
"""

__version__ = "0.1.0"
