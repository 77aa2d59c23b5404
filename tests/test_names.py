"""One list of names: the config's ``*_NAMES`` are what a user may ask for, and every
registry and every list a user reads (the docstrings, ``twinmlp train --help``, the
README) equals them, so a name added in one place cannot leave another list stale."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

from twinmlp.shared import config
from twinmlp.shared.names import LISTS, documented

ROOT = Path(__file__).resolve().parent.parent

#: The ``twinmlp train`` option that each config list feeds.
OPTIONS = {"ACTIVATION_NAMES": "--activation", "INIT_NAMES": "--init",
           "DTYPE_NAMES": "--dtype", "OPTIMIZER_NAMES": "--optimizer",
           "SCHEDULE_NAMES": "--schedule", "DROPOUT_RNG_NAMES": "--dropout-rng"}
#: The docstring parameter that each config list documents.
PARAMETERS = {"ACTIVATION_NAMES": "activation", "INIT_NAMES": "init", "DTYPE_NAMES": "dtype",
              "OPTIMIZER_NAMES": "optimizer"}
#: The README's words before each list it writes out.
README_LISTS = {"ACTIVATION_NAMES": "the activations", "INIT_NAMES": "the initialisations",
                "OPTIMIZER_NAMES": "the optimizers",
                "SCHEDULE_NAMES": "the learning-rate schedules"}


def names(list_name: str) -> tuple[str, ...]:
    return getattr(config, list_name)


def registry_mismatches() -> list[str]:
    """Each twin registry (and the autograd oracle's table) whose keys differ from the
    config's list, in order."""
    from tests.test_autograd_oracle import AUTOGRAD_ACTIVATIONS
    from twinmlp import numpy_impl, torch_impl
    registries = {"tests AUTOGRAD_ACTIVATIONS": (AUTOGRAD_ACTIVATIONS, "ACTIVATION_NAMES")}
    for twin in (numpy_impl, torch_impl):
        twin_name = twin.__name__.rsplit(".", 1)[-1]
        registries[f"{twin_name} ACTIVATIONS"] = (twin.functional.ACTIVATIONS,
                                                  "ACTIVATION_NAMES")
        registries[f"{twin_name} DERIVATIVES"] = (twin.functional.DERIVATIVES,
                                                  "ACTIVATION_NAMES")
        registries[f"{twin_name} OPTIMIZERS"] = (twin.optim.OPTIMIZERS, "OPTIMIZER_NAMES")
    return [f"{where}: {list(table)} != {list_name} {list(names(list_name))}"
            for where, (table, list_name) in registries.items()
            if tuple(table) != names(list_name)]


def docstring_mismatches() -> list[str]:
    """Each ``name : {...}`` line of a documented class that differs from the config."""
    from twinmlp import numpy_impl, torch_impl
    from twinmlp.sklearn import TwinMLPClassifier
    wrong = []
    for cls in (numpy_impl.MLP, torch_impl.MLP, TwinMLPClassifier):
        for list_name, parameter in PARAMETERS.items():
            lines = re.findall(rf"^\s*{parameter} : (\{{.*\}})\s*$", cls.__doc__, re.M)
            if cls is not TwinMLPClassifier and parameter == "optimizer":
                continue  # the models take no optimizer
            if lines != [documented(names(list_name))]:
                wrong.append(f"{cls.__module__}.{cls.__name__} {parameter}: {lines}")
    return wrong


def train_help() -> str:
    from twinmlp.cli import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main(["train", "--help"])
    return out.getvalue()


def help_mismatches(text: str) -> list[str]:
    """Each option whose choices differ from the config's list, and each help text that
    writes out some of the names but not all (a hand-written list gone stale)."""
    wrong = []
    entries = re.split(r"\n(?=  -)", text.split("\noptions:", 1)[1])
    for list_name, option in OPTIONS.items():
        found = [e for e in entries if e.startswith(f"  {option} ")]
        choices = re.match(rf"  {option} \{{([^}}]*)\}}", found[0]) if found else None
        if choices is None or tuple(choices.group(1).split(",")) != names(list_name):
            wrong.append(f"{option}: choices {choices and choices.group(1)}")
            continue
        prose = re.sub(r"\(default:[^)]*\)", "", " ".join(found[0][choices.end():].split()))
        mentioned = [n for n in names(list_name) if re.search(rf"\b{re.escape(n)}\b", prose)]
        if len(mentioned) >= 2 and len(mentioned) != len(names(list_name)):
            wrong.append(f"{option}: its help lists {mentioned} of {names(list_name)}")
    return wrong


def test_the_twins_registries_hold_exactly_the_configs_names() -> None:
    assert registry_mismatches() == []


def test_the_docstrings_list_the_configs_names() -> None:
    assert docstring_mismatches() == []


def test_train_help_offers_exactly_the_configs_names() -> None:
    text = train_help()
    assert help_mismatches(text) == []
    assert f"--activation {{{','.join(config.ACTIVATION_NAMES)}}}" in text


def test_the_readme_lists_the_configs_names() -> None:
    """The README is text, not generated: this holds its lists to the config's."""
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    for list_name, words in README_LISTS.items():
        listed = re.search(rf"{words} ((?:`[\w-]+`(?:, | and )?)+)", readme)
        assert listed is not None, f"README: no list after {words!r}"
        assert tuple(re.findall(r"`([\w-]+)`", listed.group(1))) == names(list_name)


def test_the_written_out_examples_list_the_configs_names() -> None:
    """Texts that quote the list (the config's own example message, the extending
    guide's copy of the tuple) are text: this holds them to it."""
    example = re.search(r"expected one of ([\w, ]+)", " ".join(config.__doc__.split()))
    assert example is not None and example.group(1).split(", ") == list(
        config.ACTIVATION_NAMES)
    guide = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    quoted = re.search(r"^ACTIVATION_NAMES = \((.*)\)$", guide, re.M)
    assert quoted is not None
    assert tuple(re.findall(r'"([\w-]+)"', quoted.group(1))) == config.ACTIVATION_NAMES


def test_every_list_is_filled_from_the_config() -> None:
    """Every list placeholder names a config list, and a docstring's list is filled from
    the config when its class is made (not written by hand)."""
    assert set(LISTS) == {name for name in vars(config) if name.endswith("_NAMES")}
    assert set(PARAMETERS) | set(OPTIONS) <= set(LISTS)
    for path in ("numpy_impl/model.py", "torch_impl/model.py", "twinmlp/sklearn.py"):
        source = (ROOT / path).read_text(encoding="utf-8")
        assert "activation : {ACTIVATION_NAMES}" in source, path


FAKE_ACTIVATION = """
import json
from twinmlp.shared import config
config.ACTIVATION_NAMES = (*config.ACTIVATION_NAMES, "fake")
from twinmlp import numpy_impl, torch_impl
for twin in (numpy_impl, torch_impl):
    twin.functional.ACTIVATIONS["fake"] = twin.functional.ACTIVATIONS["relu"]
    twin.functional.DERIVATIVES["fake"] = twin.functional.DERIVATIVES["relu"]
from tests.test_autograd_oracle import AUTOGRAD_ACTIVATIONS
AUTOGRAD_ACTIVATIONS["fake"] = AUTOGRAD_ACTIVATIONS["relu"]
from tests import test_names
from twinmlp.sklearn import TwinMLPClassifier
text = test_names.train_help()
print(json.dumps({
    "registries": test_names.registry_mismatches(),
    "docstrings": test_names.docstring_mismatches(),
    "help": test_names.help_mismatches(text),
    "in_help": "--activation {leaky_relu,relu,tanh,sigmoid,gelu,silu,fake}" in text,
    "in_docs": ['"silu", "fake"}' in cls.__doc__
                for cls in (numpy_impl.MLP, torch_impl.MLP, TwinMLPClassifier)],
    "model": numpy_impl.MLP([2, 3, 2], activation="fake").config.activation,
}))
"""


def test_a_new_activation_reaches_help_and_every_docstring() -> None:
    """Add ``fake`` to the config's list and the registries (before the twins are
    imported, as a new name would be): ``--help``, every docstring and the config take it
    without another edit, and every check above still holds."""
    result = subprocess.run([sys.executable, "-c", FAKE_ACTIVATION], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"registries": [], "docstrings": [], "help": [], "in_help": True,
                      "in_docs": [True, True, True], "model": "fake"}
