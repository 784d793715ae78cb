"""``llmops prompts promote --require-eval``: a prompt version earns its alias by passing an evaluation suite."""

from __future__ import annotations

from dataclasses import dataclass

from llmops.evaluation.config import EvalConfigError
from llmops.evaluation.gate import GateReport
from llmops.evaluation.runner import PROMPT_NAME, run_suite


@dataclass(frozen=True)
class Verdict:
    """What ``llmops prompts promote --require-eval`` needs: passed, and why not."""

    passed: bool
    reason: str
    report: GateReport | None = None


CANDIDATE_ALIAS = "eval-candidate"


def require_suite(suite: str, name: str, version: int, baseline: str | None = "production") -> Verdict:
    """Evaluate version ``version`` of prompt ``name`` on ``suite`` (against ``baseline`` when that alias
    exists and points elsewhere) before a promotion.

    The analyzer loads prompts by alias, so the version is evaluated under a temporary alias
    (``eval-candidate``), removed afterwards. Usage errors (unknown suite, prompt or version) raise.
    """
    from mlflow import MlflowClient

    from llmops.prompts import registry

    if name != PROMPT_NAME:
        raise EvalConfigError(
            f"--require-eval evaluates the analyzer, which uses prompt {PROMPT_NAME!r}; {name!r} is not evaluated by it"
        )
    registry.resolve(f"{name}/{version}")  # the version must exist
    aliases = registry.aliases(name)
    use_baseline = baseline if baseline in aliases and aliases[baseline] != int(version) else None
    client = MlflowClient()
    client.set_prompt_alias(name, CANDIDATE_ALIAS, int(version))
    try:
        report = run_suite(suite, prompt_alias=CANDIDATE_ALIAS, baseline=use_baseline)
    finally:
        try:
            client.delete_prompt_alias(name, CANDIDATE_ALIAS)
        except Exception:  # noqa: BLE001 - a leftover temporary alias must not hide the suite's verdict
            pass
    if report.passed:
        return Verdict(True, "", report)
    return Verdict(False, "; ".join(report.reasons), report)
