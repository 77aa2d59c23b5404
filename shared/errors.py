"""The one exception type of the project's own checks."""


class TwinMLPError(ValueError):
    """A bad value, input, file or option, told in one line that names it and, where one
    exists, the fix. The command line prints exactly these (exit code 2); any other
    exception is a bug and keeps its traceback. A ``ValueError``, so callers that catch
    those (scikit-learn's estimator checks among them) still do."""


class UsageError(TwinMLPError):
    """A command-line option or combination of options the user can fix; printed as one
    line, exit code 2."""
