"""One check, in the order of docs/check.md: transplant, forward, loss, gradients (without
and with L2), one step, ten steps, a short run judged by the chaos floor; then the same in
the target's own dtype at the float32 tiers; and, independently of the reference, central
differences of the target's own loss. Every row is computed; the detail and the diagnosis
are those of the first failure."""

from __future__ import annotations

import time

import numpy as np

from twinmlp import tolerances
from twinmlp.conformance import reference as ref
from twinmlp.conformance.adapters import Adapter
from twinmlp.conformance.compare import Evidence, compare
from twinmlp.conformance.errors import UserCodeError
from twinmlp.conformance.gradcheck import central_differences
from twinmlp.conformance.report import Report, Row
from twinmlp.conformance.settings import CheckSettings, Conventions
from twinmlp.parity import RunDifference, floor_verdict, nudge_state
from twinmlp.shared.errors import TwinMLPError


def run_check(settings: CheckSettings) -> Report:
    """Check ``settings.target``; expected failures end up in the report, never raised."""
    started = time.perf_counter()
    report = Report(settings.target)
    try:
        from twinmlp.conformance.targets import load_adapter
        from twinmlp.shared.data import load_dataset

        data = load_dataset(settings.dataset)
        settings = resolve_activation(settings)
        problem = ref.make_problem(settings, data)
        adapter = load_adapter(settings, problem.config.layer_sizes)
        report.notes = adapter.notes
        Check(problem, adapter, settings, report).run()
    except UserCodeError as error:
        report.status, report.error = "error", str(error)
        report.user_traceback = error.user_traceback
    except TwinMLPError as error:  # CannotCheckError, and a dataset or option refused
        report.status, report.error = "error", str(error)
    report.seconds = time.perf_counter() - started
    return report


def resolve_activation(settings: CheckSettings) -> CheckSettings:
    """The activation a built-in adapter defaults to (scikit-learn has no leaky ReLU)."""
    import dataclasses

    from twinmlp.conformance.builtin import DEFAULT_ACTIVATION

    if settings.activation is None:
        activation = DEFAULT_ACTIVATION.get(settings.target, "leaky_relu")
        return dataclasses.replace(settings, activation=activation)
    return settings


class Check:
    """The stages of one check on one adapter."""

    def __init__(self, problem: ref.Problem, adapter: Adapter, settings: CheckSettings,
                 report: Report) -> None:
        self.problem, self.adapter, self.settings, self.report = (problem, adapter, settings,
                                                                  report)
        self.conventions: Conventions = adapter.conventions or settings.conventions
        self.evidence: dict[int, Evidence] = {}
        for line in self.conventions.describe():
            adapter.note(f"convention mapped: {line}")

    def run(self) -> None:
        """All stages; then the verdict and, on a failure, the diagnosis."""
        from twinmlp.conformance.diagnosis import diagnose

        self.stages("float64")
        self.gradcheck()
        own = self.settings.dtype or self.adapter.native_dtype()
        if own == "float64":
            self.adapter.note("float32 tiers: not run (the target computes in float64; "
                              "pass --dtype float32 to run them)")
        else:
            self.stages("float32")
        first = self.report.first_failure()
        if first is not None:
            self.report.status = "fail"
            index = self.report.rows.index(first)
            self.report.diagnosis = diagnose(self.problem, self.evidence.get(index),
                                             self.conventions, self.settings)

    def add(self, row: Row, evidence: Evidence | None = None) -> None:
        """Append ``row``; ``evidence`` is what the diagnosis tests if it fails first."""
        if evidence is not None:
            self.evidence[len(self.report.rows)] = evidence
        self.report.rows.append(row)

    # --- the stages, in order ---

    def stages(self, dtype: str) -> None:
        """Every row of one dtype against the reference in that dtype (the gradient rows in
        float64 only: recovered from a float32 update they would be cancellation noise)."""
        p, a = self.problem, self.adapter
        step_tol, path_tol = tolerances.STEP[dtype], tolerances.TRAJECTORY[dtype]
        init, probe, large = (ref.cast(x, dtype) for x in (p.init, p.probe, p.large))
        X, y = p.X.astype(dtype), p.y

        a.load(init, dtype)
        self.add(compare("parameters (transplant)", dtype, a.read(), init, step_tol))

        a.load(probe, dtype)
        A, Z = ref.forward(p, probe, X)
        user_P = a.forward(X)
        self.add(compare("P", dtype, {"P": user_P}, {"P": A[-1]}, step_tol),
                 Evidence("forward", {"P": user_P}, {"P": A[-1]}, probe, X, y, dtype=dtype))
        exposed = a.hidden()
        for name in sorted(exposed, key=lambda n: (int(n[1:]), n[0] != "Z")):
            expected = (Z if name[0] == "Z" else A)[int(name[1:])]
            if exposed[name].shape == expected.shape:
                self.add(compare(name, dtype, {name: exposed[name]}, {name: expected},
                                 step_tol))
        a.load(large, dtype)
        A_large, _ = ref.forward(p, large, X)
        user_large = a.forward(X)
        self.add(compare("P (large logits)", dtype, {"P": user_large}, {"P": A_large[-1]},
                         step_tol),
                 Evidence("forward-large", {"P": user_large}, {"P": A_large[-1]}, large, X, y,
                          dtype=dtype))
        self.loss_rows(dtype, probe, large, X, y, step_tol)
        if dtype == "float64":
            self.gradient_rows(probe, X, y, step_tol)
        self.step_rows(dtype, probe, step_tol, path_tol)
        self.short_run(dtype, init)

    def loss_rows(self, dtype: str, probe: dict, large: dict, X: np.ndarray, y: np.ndarray,
                  tol: float) -> None:
        p, a = self.problem, self.adapter
        for label, params in (("loss", probe), ("loss (large logits)", large)):
            a.load(params, dtype)
            user = a.loss(X, y)
            if user is None:
                self.add(Row(label, dtype, None, None, "skipped",
                             "the target exposes no loss method"))
                continue
            expected = ref.loss(p, params, X, y, self.conventions)
            self.add(compare(label, dtype, {"loss": np.array(user)},
                             {"loss": np.array(expected)}, tol),
                     Evidence("loss", {"loss": np.array(user)}, {"loss": np.array(expected)},
                              params, X, y, dtype=dtype))

    def user_gradients(self, params: dict, X: np.ndarray, y: np.ndarray, dtype: str,
                       weight_decay: float = 0.0) -> tuple[dict, bool]:
        """The target's gradients (with ``weight_decay``'s L2): direct where it gives them,
        else recovered from a step at learning rate 1. Also says which."""
        a = self.adapter
        if not weight_decay:
            a.load(params, dtype)
            direct = a.gradients(X, y)
            if direct is not None:
                return direct, False
        a.load(params, dtype)
        a.update(X, y, 1.0, weight_decay, self.problem.n_train)
        return ref.recovered(params, a.read()), True

    def reference_gradients(self, params: dict, X: np.ndarray, y: np.ndarray,
                            weight_decay: float, recovered: bool) -> dict:
        p = self.problem
        if recovered:
            after = ref.step(p, params, X, y, 1.0, weight_decay, self.conventions)
            return ref.recovered(params, after)
        return ref.gradients(p, params, X, y)

    def gradient_rows(self, probe: dict, X: np.ndarray, y: np.ndarray, tol: float) -> None:
        user, recovered = self.user_gradients(probe, X, y, "float64")
        if recovered:
            self.adapter.note("gradients: recovered from one update at learning rate 1 "
                              "(W − W′)")
        expected = self.reference_gradients(probe, X, y, 0.0, recovered)
        evidence = Evidence("gradients", user, expected, probe, X, y, recovered=recovered)
        for name in expected:
            self.add(compare(f"grad {name}", "float64", {name: user[name]},
                             {name: expected[name]}, tol), evidence)
        decay = self.settings.weight_decay
        if not decay:
            self.add(Row("grad + L2", "float64", None, None, "skipped", "--weight-decay 0"))
            return
        user_l2, recovered = self.user_gradients(probe, X, y, "float64", decay)
        expected_l2 = self.reference_gradients(probe, X, y, decay, recovered)
        evidence = Evidence("gradients-l2", user_l2, expected_l2, probe, X, y,
                            weight_decay=decay, recovered=recovered,
                            extra={"plain": expected})
        for name in expected_l2:
            self.add(compare(f"grad {name} + L2", "float64", {name: user_l2[name]},
                             {name: expected_l2[name]}, tol), evidence)

    def step_rows(self, dtype: str, probe: dict, step_tol: float, path_tol: float) -> None:
        p, a, s = self.problem, self.adapter, self.settings
        X, y = p.X.astype(dtype), p.y
        a.load(probe, dtype)
        a.update(X, y, s.lr, s.weight_decay, p.n_train)
        user = a.read()
        expected = ref.step(p, probe, X, y, s.lr, s.weight_decay, self.conventions)
        self.add(compare("one step (lr, L2)", dtype, user, expected, step_tol),
                 Evidence("step", ref.recovered(probe, user), ref.recovered(probe, expected),
                          probe, X, y, s.lr, s.weight_decay, dtype=dtype))
        if not user_changed(probe, user):
            returned = getattr(self.adapter, "returned", "")
            self.adapter.note(f"the update did not change any parameter; {returned}: the "
                              "check reads the step from the parameters, so backward must "
                              "apply it in place" if returned else
                              "the update did not change any parameter")
        batches = [(bx.astype(dtype), by) for bx, by in p.batches]
        a.load(probe, dtype)
        for bx, by in batches:
            a.update(bx, by, s.lr, s.weight_decay, p.n_train)
        expected = ref.train(p, probe, batches, s.lr, s.weight_decay, self.conventions)
        self.add(compare(f"{len(batches)} steps", dtype, a.read(), expected, path_tol))

    def short_run(self, dtype: str, init: dict) -> None:
        """``run_epochs`` epochs from the initial parameters, judged by the chaos floor:
        the target against the reference, beside the reference against copies of itself
        nudged by one ulp (docs/parity.md, "Whole runs")."""
        p, a, s = self.problem, self.adapter, self.settings
        batches = ref.run_batches(p, s.run_epochs, s.seed, dtype)
        X_test = p.data.X_test.astype(dtype)
        a.load(init, dtype)
        for bx, by in batches:
            a.update(bx, by, s.lr, s.weight_decay, p.n_train)
        user_state, user_pred = a.read(), a.forward(X_test).argmax(axis=1)

        def reference_run(start: dict) -> tuple[dict, np.ndarray]:
            end = ref.train(p, start, batches, s.lr, s.weight_decay, self.conventions)
            return end, ref.predict(p, end, X_test)

        ref_state, ref_pred = reference_run(init)
        copies = []
        for copy in range(1, tolerances.FLOOR_COPIES + 1):
            state, pred = reference_run(nudge_state(init, copy))
            copies.append(RunDifference.between(state, pred, ref_state, ref_pred,
                                                p.data.y_test))
        label = f"short run ({s.run_epochs} epochs)"
        if not all(np.isfinite(v).all() for v in user_state.values()):
            self.add(Row(label, dtype, float("nan"), None, "NaN",
                         "the parameters hold NaN or infinity after the run"))
            return
        target = RunDifference.between(user_state, user_pred, ref_state, ref_pred,
                                       p.data.y_test)
        verdict = floor_verdict(dtype, "the reference", target, copies, len(p.data.y_test))
        limit = verdict.limits().distance
        detail = verdict.line(pair="target and reference")
        self.add(Row(label, dtype, target.distance, limit,
                     "ok" if verdict.passed else "FAIL", detail))

    def gradcheck(self) -> None:
        """Central differences of the target's own loss (float64), independent of the
        reference: its gradients against its forward pass."""
        p = self.problem
        X, y = p.X_grad, p.y_grad
        user, _ = self.user_gradients(p.probe, X, y, "float64")
        worst, error, detail = central_differences(self.adapter, p.probe, X, y, user)
        tol = tolerances.CENTRAL_DIFFERENCES
        self.add(Row("central differences", "float64", error, tol,
                     "ok" if error <= tol else ("NaN" if not np.isfinite(error) else "FAIL"),
                     "" if error <= tol else f"{worst}: {detail}"))


def user_changed(before: dict, after: dict) -> bool:
    """Whether any parameter moved."""
    return any(not np.array_equal(before[n], after[n]) for n in before)
