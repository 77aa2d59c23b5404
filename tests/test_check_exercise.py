"""``twinmlp exercise`` writes the skeleton from the packaged templates; unfilled, the
check says forward is not written (exit 2); filled in correctly, it passes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.check_helpers import quick
from twinmlp.cli import main

FORWARD = '''        self.cache = [X]
        a = X
        for l in range(1, self.L + 1):
            z = a @ getattr(self, f"W{l}") + getattr(self, f"b{l}")
            if l < self.L:
                a = np.where(z > 0, z, self.alpha * z)
            else:
                e = np.exp(z - z.max(axis=1, keepdims=True))
                a = e / e.sum(axis=1, keepdims=True)
            self.cache += [z, a]
        return a
'''
BACKWARD = '''        n, k = X.shape[0], self.cache[-1].shape[1]
        G = (self.cache[-1] - np.eye(k)[y]) / n
        decay = self.weight_decay / (self.n_train or n)
        for l in range(self.L, 0, -1):
            A_prev, W = self.cache[2 * l - 2], getattr(self, f"W{l}")
            dW, db = A_prev.T @ G + decay * W, G.sum(axis=0)
            if l > 1:
                G = (G @ W.T) * np.where(self.cache[2 * l - 3] > 0, 1.0, self.alpha)
            setattr(self, f"W{l}", W - self.learning_rate * dW)
            setattr(self, f"b{l}", getattr(self, f"b{l}") - self.learning_rate * db)
'''


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_exercise_writes_the_skeleton_and_refuses_to_overwrite(
        backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "work"
    assert main(["exercise", backend, str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "mlp.py", "train.py"]
    assert f"twinmlp check {folder}/mlp.py" in (folder / "README.md").read_text()
    math = re.search(r"`MATH\.md`,\s+`([^`]+)`", (folder / "README.md").read_text())
    assert math is not None and Path(math.group(1)).read_text().startswith("# The mathem")
    assert (folder / "mlp.py").read_text().count("# TODO") == 2
    assert main(["exercise", backend, str(folder)]) == 2
    assert "pass --force" in capsys.readouterr().err
    report = quick(folder / "mlp.py")
    assert report.exit_code == 2
    assert report.error == "forward(X) raised NotImplementedError: forward is yours to write"


def test_the_numpy_skeleton_filled_in_passes(tmp_path: Path) -> None:
    assert main(["exercise", "numpy", str(tmp_path)]) == 0
    text = (tmp_path / "mlp.py").read_text()
    todo = '        # TODO\n        raise NotImplementedError("{} is yours to write")\n'
    todo_forward, todo_backward = todo.format("forward"), todo.format("backward")
    assert todo_forward in text and todo_backward in text
    text = text.replace(todo_forward, FORWARD).replace(todo_backward, BACKWARD)
    (tmp_path / "mlp.py").write_text(text)
    report = quick(tmp_path / "mlp.py")
    assert report.status == "pass", (report.error, [r for r in report.rows if r.failed])


TORCH_FORWARD = '''        self.cache = [X]
        a = X
        for l in range(1, self.L + 1):
            z = a @ getattr(self, f"W{l}") + getattr(self, f"b{l}")
            if l < self.L:
                a = torch.where(z > 0, z, self.alpha * z)
            else:
                e = torch.exp(z - z.max(dim=1, keepdim=True).values)
                a = e / e.sum(dim=1, keepdim=True)
            self.cache += [z, a]
        return a
'''
TORCH_BACKWARD = '''        n, k = X.shape[0], self.cache[-1].shape[1]
        Y = torch.nn.functional.one_hot(y, k).to(X.dtype)
        G = (self.cache[-1] - Y) / n
        decay = self.weight_decay / (self.n_train or n)
        for l in range(self.L, 0, -1):
            A_prev, W = self.cache[2 * l - 2], getattr(self, f"W{l}")
            dW, db = A_prev.T @ G + decay * W, G.sum(dim=0)
            if l > 1:
                z = self.cache[2 * l - 3]
                G = (G @ W.T) * DERIVATIVE
            setattr(self, f"W{l}", W - self.learning_rate * dW)
            setattr(self, f"b{l}", getattr(self, f"b{l}") - self.learning_rate * db)
'''


@pytest.mark.parametrize(("derivative", "verdict"), [
    ("torch.where(z > 0, 1.0, self.alpha)", "float32-in-float64"),
    ("torch.where(z > 0, torch.ones_like(z), torch.full_like(z, self.alpha))", "pass"),
])
def test_the_torch_skeleton_filled_in_as_its_docstring_says_passes(
        derivative: str, verdict: str, tmp_path: Path) -> None:
    # the natural torch.where(z > 0, 1.0, alpha) is float32 inside the float64 stage
    assert main(["exercise", "torch", str(tmp_path)]) == 0
    text = (tmp_path / "mlp.py").read_text()
    assert "torch.full_like(Z, alpha)" in text
    todo = '        # TODO\n        raise NotImplementedError("{} is yours to write")\n'
    text = text.replace(todo.format("forward"), TORCH_FORWARD).replace(
        todo.format("backward"), TORCH_BACKWARD.replace("DERIVATIVE", derivative))
    (tmp_path / "mlp.py").write_text(text)
    report = quick(tmp_path / "mlp.py")
    if verdict == "pass":
        assert report.status == "pass", (report.error, [r for r in report.rows if r.failed])
    else:
        assert report.diagnosis is not None and report.diagnosis.name == verdict
