"""The subcommands of ``twinmlp``, one module each.

Every command module defines exactly:

- ``NAME: str`` — the subcommand (``twinmlp NAME``);
- ``HELP: str`` — its one-line summary in ``twinmlp --help``;
- ``add_arguments(parser: argparse.ArgumentParser) -> None`` — its options (and, where it
  wants one, ``parser.description`` or ``parser.epilog``);
- ``run(args: argparse.Namespace) -> int`` — the command itself; returns the exit code.

A module that may run torch on a GPU whatever ``--device`` says also sets
``USES_TORCH = True`` (exact CUDA numerics around it; README: CUDA numerics). Import
heavy libraries inside ``run``, so that ``--help`` stays fast. Expected failures are
raised as :class:`twinmlp.shared.errors.TwinMLPError`; ``twinmlp.cli`` prints them as
one line and exits 2. A new command is one module here plus its name in
``twinmlp.cli.COMMANDS``. Options several commands share live in
:mod:`twinmlp.commands.options`.
"""
