"""twinmlp: one MLP written twice (NumPy reference, torch port), held equal by parity tests.

The application layer: command line, parity verdicts and drift reports, benchmarks, plots,
checkpoints and the scikit-learn estimator. The twins and their spec are its subpackages
``twinmlp.numpy_impl``, ``twinmlp.torch_impl`` and ``twinmlp.shared``.
"""

__version__ = "0.1.0"
