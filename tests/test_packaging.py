"""Installed, twinmlp claims one import name: its wheel installs beside a distribution
that ships a top-level ``shared`` module, and both import; the installed ``twinmlp``
command answers ``--help`` for itself and every subcommand."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "-q", "--disable-pip-version-check", *args],
                   check=True, capture_output=True, text=True)


def source_copy(folder: Path) -> Path:
    """The checkout without its environment and outputs, copied to ``folder``: building
    writes ``build/`` and ``*.egg-info`` beside the sources, and not into the checkout."""
    skipped = shutil.ignore_patterns(".git", ".venv", "venv", "build", "dist", "runs",
                                     "*.egg-info", "__pycache__", ".pytest_cache",
                                     ".ruff_cache", "notebooks")
    shutil.copytree(ROOT, folder, ignore=skipped)
    return folder


@pytest.mark.slow
def test_the_wheel_installs_beside_a_top_level_shared(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels),
        str(source_copy(tmp_path / "source")))
    (ours,) = wheels.glob("twinmlp-*.whl")
    top_level = {name.split("/")[0] for name in zipfile.ZipFile(ours).namelist()}
    assert top_level == {"twinmlp", ours.name.split("-py")[0] + ".dist-info"}
    assert "twinmlp/shared/MATH.md" in zipfile.ZipFile(ours).namelist()

    other = tmp_path / "other"
    other.mkdir()
    (other / "shared.py").write_text('WHO = "the other distribution"\n')
    (other / "pyproject.toml").write_text(textwrap.dedent("""\
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "shared"
        version = "1.0"
        [tool.setuptools]
        py-modules = ["shared"]
        """))
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(other))

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; "
                                "print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # The dependencies (numpy, torch, …) come from this environment, after the venv's own
    # packages on the path; a .pth line adds a folder without running the .pth files in it.
    here = [path for path in sys.path if path.endswith("site-packages")]
    (site / "deps.pth").write_text("\n".join(here or [sysconfig.get_paths()["purelib"]]) + "\n")
    pip("--python", str(python), "install", "--no-deps", "--no-index",
        *map(str, wheels.glob("*.whl")))

    code = ("import shared, twinmlp.shared.config, twinmlp.numpy_impl; "
            "print(shared.WHO); print(twinmlp.shared.config.__file__); "
            "print(twinmlp.numpy_impl.MLP([2, 2]).predict([[0.0, 1.0]]))")
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr
    who, config_file, _ = result.stdout.splitlines()
    assert who == "the other distribution"
    assert config_file.startswith(str(site / "twinmlp" / "shared"))

    from twinmlp.cli import COMMANDS

    command = venv / "bin" / "twinmlp"
    for args in (["--help"], *([c.NAME, "--help"] for c in COMMANDS)):
        result = subprocess.run([str(command), *args], capture_output=True, text=True,
                                cwd=tmp_path, check=False)
        assert result.returncode == 0, (args, result.stderr)
        assert result.stdout.startswith(f"usage: twinmlp {' '.join(args[:-1])}".rstrip())
