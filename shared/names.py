"""The documented lists of names, filled in from the config's ``*_NAMES``.

The config's tuples (``ACTIVATION_NAMES``, …) are the one list of what a user may ask
for: they feed the command line's choices and the config's checks, and the twins'
registries must hold exactly them (tests/test_names.py). A docstring that lists them
writes the placeholder ``{ACTIVATION_NAMES}`` instead, and :func:`fill_names` puts in
``{"leaky_relu", "relu", …}``, so adding a name cannot leave a documented list stale.
"""

from __future__ import annotations

from twinmlp.shared import config

#: The config's lists of names, by the name a placeholder uses.
LISTS = ("ACTIVATION_NAMES", "INIT_NAMES", "DTYPE_NAMES", "OPTIMIZER_NAMES",
         "SCHEDULE_NAMES", "DROPOUT_RNG_NAMES")


def documented(names: tuple[str, ...]) -> str:
    """``names`` as a docstring writes a set of choices: ``{"a", "b"}``."""
    return "{" + ", ".join(f'"{name}"' for name in names) + "}"


def fill_names(doc: str) -> str:
    """``doc`` with each placeholder ``{ACTIVATION_NAMES}`` (or another of :data:`LISTS`)
    replaced by that list, read from the config now."""
    for list_name in LISTS:
        doc = doc.replace("{" + list_name + "}", documented(getattr(config, list_name)))
    return doc
