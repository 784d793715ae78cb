"""The Module 2 exam kit, built by the real `churn exam build` on the real data, then answered the way a learner
would: through MLflow's own APIs (search_runs, the registry, list_artifacts, dataset inputs), never through the
kit's answer code, and graded by `churn exam grade`: 100 %. Plus the bad inputs of building and grading.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from churn import cli as churn_cli

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED = 3
runner = CliRunner()


@pytest.fixture(scope="module")
def kit(tmp_path_factory, telco_csv) -> Path:
    """A kit built by the command in its own process, in a clean environment (as a teacher would)."""
    out = tmp_path_factory.mktemp("m2") / "exam-m2"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOPS_", "MLFLOW_", "CHURN_"))}
    result = subprocess.run(
        [sys.executable, "-m", "churn.cli", "exam", "build", "--seed", str(SEED), "--out", str(out), "--data", str(telco_csv)],
        cwd=out.parent, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"exam kit .*exam-m2: 10 runs, 5 versions \(production: version \d\), 15 questions", " ".join(result.stdout.split()))
    return out


# --- answering as a learner, through MLflow ---------------------------------------------------------------------


class Learner:
    """What a learner's analysis script computes, with mlflow and MlflowClient only."""

    MODEL = "churn-classifier"

    def __init__(self, kit: Path) -> None:
        import mlflow

        self.uri = f"sqlite:///{kit / 'mlflow.db'}"
        mlflow.set_tracking_uri(self.uri)
        self.mlflow = mlflow
        self.client = mlflow.MlflowClient(self.uri)
        self.runs = mlflow.search_runs(experiment_names=["churn"], max_results=1000)  # a DataFrame
        self.train = self.runs[self.runs["tags.stage"] == "train"]
        self.eval = self.runs[self.runs["tags.stage"] == "evaluate"]

    def version(self, alias_or_number):
        if isinstance(alias_or_number, str):
            return self.client.get_model_version_by_alias(self.MODEL, alias_or_number)
        return self.client.get_model_version(self.MODEL, str(alias_or_number))

    def evaluation_of(self, training_run_id: str):
        found = self.mlflow.search_runs(experiment_names=["churn"], filter_string=f"tags.training_run_id = '{training_run_id}'")
        assert len(found) == 1
        return found.iloc[0]

    def versions(self):
        return sorted(self.client.search_model_versions(f"name = '{self.MODEL}'"), key=lambda v: int(v.version))

    def answer(self, text: str):
        """The value of the right answer to the question ``text``, and how to compare it with a choice."""
        three = lambda x: f"{x:.3f}"  # noqa: E731
        if text.startswith("Which training run has the best held-out ROC AUC"):
            best = self.mlflow.search_runs(experiment_names=["churn"], filter_string="tags.stage = 'train'",
                                           order_by=["metrics.roc_auc DESC"], max_results=1)  # fmt: skip
            return best.iloc[0].run_id
        if text.startswith("What is the best ROC AUC of the evaluation runs"):
            return three(self.eval["metrics.roc_auc"].max())
        if text.startswith("Which version of churn-classifier holds the alias"):
            return f"version {self.version(text.split()[-1].rstrip('?')).version}"
        if text.startswith("With which parameters was the production version trained"):
            return ("params", self.client.get_run(self.version("production").run_id).data.params)
        if text.startswith("How many versions of churn-classifier are registered"):
            return str(len(self.versions()))
        if text.startswith("How many versions did the promotion gate refuse"):
            return str(sum(v.tags.get("promotion.decision") == "refused" for v in self.versions()))
        if match := re.match(r"Version (\d+) was refused: what was the ROC AUC of the production version", text):
            refused = self.version(int(match.group(1)))
            compared_with = self.version(int(refused.tags["promotion.current_version"]))
            return three(self.evaluation_of(compared_with.run_id)["metrics.roc_auc"])
        if match := re.match(r"Which of these files is NOT an artifact of the evaluation run of version (\d+)", text):
            run_id = self.evaluation_of(self.version(int(match.group(1))).run_id).run_id
            return ("not in", {f.path for f in self.client.list_artifacts(run_id)})
        if text.startswith("What is the recall of the production version"):
            return three(self.evaluation_of(self.version("production").run_id)["metrics.recall"])
        if text.startswith("Which training run over-fits most"):
            gap = self.train["metrics.train_roc_auc"] - self.train["metrics.roc_auc"]
            return self.train.loc[gap.idxmax(), "run_id"]
        if text.startswith("Which versions have held the alias production"):
            promoted = [v.version for v in self.versions() if v.tags.get("promotion.decision") == "promoted"]
            return " → ".join(f"v{v}" for v in promoted)
        if text.startswith("How many runs does the experiment churn hold"):
            return str(len(self.runs))
        if match := re.match(r"Which evaluation run evaluated training run ([0-9a-f]{32})", text):
            return self.evaluation_of(match.group(1)).run_id
        if text.startswith("How many customers are in the held-out split"):
            run = self.client.get_run(self.eval.iloc[0].run_id)
            (dataset,) = [d.dataset for d in run.inputs.dataset_inputs if d.dataset.name == "telco_churn-test"]
            return str(json.loads(dataset.profile)["num_rows"])
        raise AssertionError(f"the learner does not know how to answer: {text}")

    @staticmethod
    def matches(value, choice: str) -> bool:
        if isinstance(value, tuple) and value[0] == "params":
            model, _, rest = choice.partition(": ")
            shown = dict(item.split("=", 1) for item in rest.split(", "))
            return model == value[1]["model"] and all(value[1].get(k, "None") == v for k, v in shown.items())
        if isinstance(value, tuple) and value[0] == "not in":
            return choice not in value[1]
        return choice == value


def test_every_question_is_answered_through_mlflow_and_scores_100(kit, tmp_path):
    import mlflow

    previous = mlflow.get_tracking_uri()
    try:
        learner = Learner(kit)
        questions = yaml.safe_load((kit / "questions.yaml").read_text())["questions"]
        answers = {}
        for q in questions:
            value = learner.answer(q["text_en"])
            letters = [letter for letter, choice in q["choices"].items() if learner.matches(value, choice["en"])]
            assert len(letters) == 1, (q["id"], q["text_en"], value, q["choices"])
            answers[q["id"]] = letters[0]
    finally:
        mlflow.set_tracking_uri(previous)
    assert len(answers) >= 12
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(answers))
    result = runner.invoke(churn_cli.app, ["exam", "grade", str(kit), str(path)])
    assert result.exit_code == 0, result.output
    assert f"Score: {len(answers)}/{len(answers)} (100 %)" in result.output


def test_the_store_tells_the_story_the_quiz_asks_about(kit):
    """Five candidates, the first promoted, at least one refused, production is the best that passed the gate."""
    manifest = json.loads((kit / "teacher" / "manifest.json").read_text())
    runs = manifest["runs"]
    assert [r["version"] for r in runs] == [1, 2, 3, 4, 5]
    assert runs[0]["decision"] == "promoted" and any(r["decision"] == "refused" for r in runs)
    promoted = [r for r in runs if r["decision"] == "promoted"]
    assert manifest["production"] == promoted[-1]["version"]
    assert promoted[-1]["roc_auc"] == max(r["roc_auc"] for r in promoted)
    assert manifest["data_sha256"] and manifest["versions"]["mlflow"]


def test_the_quiz_prints_in_both_languages_without_answers(kit):
    key = yaml.safe_load((kit / "teacher" / "answer_key.yaml").read_text())["answers"]
    en = runner.invoke(churn_cli.app, ["exam", "questions", str(kit), "--lang", "en"])
    fr = runner.invoke(churn_cli.app, ["exam", "questions", str(kit), "--lang", "fr"])
    assert en.exit_code == 0 and fr.exit_code == 0
    assert "Module 2 exam" in en.output and "Examen du module 2" in fr.output
    assert "Which version of churn-classifier holds the alias production?" in en.output
    assert "Quelle version de churn-classifier porte l'alias production ?" in fr.output
    assert en.output.count("    A) ") == len(key) >= 12
    assert key["q01"]["explanation_en"] not in en.output and "evidence" not in en.output


def test_wrong_and_malformed_answers_are_graded_with_notes(kit, tmp_path):
    key = yaml.safe_load((kit / "teacher" / "answer_key.yaml").read_text())["answers"]
    answers = {"q01": key["q01"]["answer"], "q02": "Z", "q99": "A"}
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(answers))
    result = runner.invoke(churn_cli.app, ["exam", "grade", str(kit), str(path), "--lang", "fr"])
    assert result.exit_code == 0, result.output
    assert f"Score: 1/{len(key)}" in result.output
    assert "unknown question id(s) ignored: q99" in result.output
    assert "q02: wrong (answered Z" in result.output and "'Z' is not one of A, B, C, D" in result.output
    assert "q03: wrong (answered -" in result.output and "evidence: " in result.output
    path.write_text("q01: [unclosed")
    broken = runner.invoke(churn_cli.app, ["exam", "grade", str(kit), str(path)])
    assert broken.exit_code == 0 and "is not valid YAML (line 1)" in broken.output and "Score: 0/" in broken.output


def test_the_students_copy_keeps_the_store_and_drops_the_answers(kit, tmp_path):
    result = runner.invoke(churn_cli.app, ["exam", "student-copy", str(kit), str(tmp_path / "students")])
    assert result.exit_code == 0, result.output
    copied = {p.name for p in (tmp_path / "students").iterdir()}
    assert {"mlflow.db", "mlartifacts", "questions.yaml", "README.md"} <= copied and "teacher" not in copied


def test_a_kit_is_never_built_over_something_else(kit, tmp_path, telco_csv):
    before = (kit / "mlflow.db").read_bytes()
    again = runner.invoke(churn_cli.app, ["exam", "build", "--seed", "4", "--out", str(kit), "--data", str(telco_csv)])
    assert again.exit_code == 1 and "is not empty" in again.output
    assert (kit / "mlflow.db").read_bytes() == before  # nothing lost, nothing added


def test_bad_data_or_seed_fail_with_one_line_and_write_nothing(tmp_path, variant):
    broken = variant(lambda lines: [lines[0], lines[1], lines[2].replace(",Yes", ",Maybe", 1), *lines[3:]])
    out = tmp_path / "kit"
    result = runner.invoke(churn_cli.app, ["exam", "build", "--seed", "1", "--out", str(out), "--data", str(broken)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "row" in result.output and str(broken.name) in result.output
    assert not out.exists()
    negative = runner.invoke(churn_cli.app, ["exam", "build", "--seed", "-1", "--out", str(out)])
    assert negative.exit_code == 1 and "non-negative integer" in negative.output and not out.exists()


def test_another_seed_trains_other_candidates_but_the_same_story():
    from churn.exam.scenario import candidates

    three, four = candidates(3), candidates(4)
    assert [c.slot for c in three][0] == [c.slot for c in four][0] == "baseline"
    assert {c.slot for c in three} == {c.slot for c in four} == {"baseline", "shallow", "tuned", "balanced", "overfit"}
    seeds = {tuple(c.params for c in candidates(seed)) for seed in range(10)}
    assert len(seeds) >= 8  # different exams, not a handful of repeats
    assert candidates(3) == three  # and a seed is a seed
