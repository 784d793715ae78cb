"""The ``churn`` command: thin wrappers over the library (data, train, evaluate, compare).

Each command imports its stage module (and with it pandas, scikit-learn, MLflow) only when it runs, so
``churn --help`` answers at once. A user error ends in one red line and exit code 1, never a traceback.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich import box
from rich.table import Table

from churn.errors import ChurnError
from llmops.cli.common import console, user_errors

app = typer.Typer(
    name="churn",
    help="Telco customer churn with MLflow: tracking (course Module 1); registry, serving, pipeline (Module 2).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
DataOption = typer.Option(
    None,
    "--data",
    help="A CSV of the Telco schema [default: CHURN_DATA or data/telco_churn.csv, downloaded if missing].",
)


def _tracking_hint() -> str:
    import mlflow

    uri = mlflow.get_tracking_uri()
    if uri.startswith(("http://", "https://")):
        return f"[dim]See it in the UI: {uri}[/]"
    return f"[dim]See it in the UI: uv run mlflow ui --backend-store-uri {uri}[/]"


def _metrics_table(title: str, metrics: dict[str, float], names: tuple[str, ...]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name in names:
        if name in metrics:
            table.add_row(name, f"{metrics[name]:.4f}")
    return table


@app.command()
def data(path: Optional[Path] = DataOption) -> None:
    """Fetch the IBM Telco Customer Churn CSV if it is missing, verify it and summarise it."""
    from llmops.settings import get_settings

    with user_errors():
        from churn import loader

        settings = get_settings()
        if path is None and not settings.churn_data.is_file():
            console.print(f"Downloading {settings.churn_data_url} to {settings.churn_data} ...")
        df = loader.load(path)
        table = Table(title="Telco Customer Churn data", show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column()
        matches = df.attrs["sha256"] == settings.churn_data_sha256
        table.add_row("file", df.attrs["source"])
        table.add_row(
            "sha256",
            df.attrs["sha256"] + ("  [green](IBM's published file)[/]" if matches else "  [yellow](not IBM's file)[/]"),
        )
        table.add_row("customers", f"{len(df):,}")
        table.add_row("churned", f"{int(df[loader.TARGET].sum()):,} ({df[loader.TARGET].mean():.1%})")
        table.add_row(
            "blank TotalCharges",
            f"{df.attrs['blank_total_charges']} (all tenure 0, not billed yet: set to 0.0)",
        )
        train, test = loader.split(df)
        table.add_row(
            "split",
            f"{len(train):,} train / {len(test):,} held out "
            f"(test_size {loader.TEST_SIZE}, split_seed {loader.SPLIT_SEED}, stratified on Churn)",
        )
        console.print(table)


ModelOption = typer.Option("lr", "--model", "-m", help="lr (LogisticRegression) or rf (RandomForest).")
COption = typer.Option(None, "--C", help="LR: inverse regularisation strength [default: 1.0].")
MaxIterOption = typer.Option(None, "--max-iter", help="LR: solver iterations [default: 1000].")
NEstimatorsOption = typer.Option(None, "--n-estimators", help="RF: trees [default: 100].")
MaxDepthOption = typer.Option(None, "--max-depth", help="RF: tree depth, 0 = unlimited [default: 8].")
MinSamplesLeafOption = typer.Option(None, "--min-samples-leaf", help="RF: [default: 5].")
ClassWeightOption = typer.Option("none", "--class-weight", help="none or balanced (both models).")
TestSizeOption = typer.Option(0.2, "--test-size", help="Share of customers held out.")
SplitSeedOption = typer.Option(42, "--split-seed", help="Seed of the stratified split.")


def _train_params(
    model: str,
    C: Optional[float],
    max_iter: Optional[int],
    n_estimators: Optional[int],
    max_depth: Optional[int],
    min_samples_leaf: Optional[int],
    class_weight: str,
    test_size: float,
    split_seed: int,
):
    """The training params from the command line; notes the flags the chosen model does not use."""
    from churn.train import LR_PARAMS, RF_PARAMS, TrainParams

    given = {
        "C": C, "max_iter": max_iter, "n_estimators": n_estimators,
        "max_depth": max_depth, "min_samples_leaf": min_samples_leaf,
    }  # fmt: skip
    given = {name: value for name, value in given.items() if value is not None}
    if given.get("max_depth") == 0:
        given["max_depth"] = None
    if class_weight.lower() not in ("none", "balanced"):
        raise ChurnError(f"--class-weight must be none or balanced, not {class_weight!r}.")
    params = TrainParams(
        model=model.lower(),
        class_weight=None if class_weight.lower() == "none" else "balanced",
        test_size=test_size,
        split_seed=split_seed,
        **given,
    )
    own = LR_PARAMS if params.model == "lr" else RF_PARAMS
    defaults = TrainParams()
    # A flag left at its default says nothing (the MLproject passes every parameter to both models).
    ignored = [name for name in given if name not in own and given[name] != getattr(defaults, name)]
    if ignored:
        flags = ", ".join("--" + name.replace("_", "-") if name != "C" else "--C" for name in ignored)
        console.print(f"[yellow]note:[/] {flags} not used by {params.family} (not logged).")
    return params


@app.command()
def train(
    model: str = ModelOption,
    C: Optional[float] = COption,
    max_iter: Optional[int] = MaxIterOption,
    n_estimators: Optional[int] = NEstimatorsOption,
    max_depth: Optional[int] = MaxDepthOption,
    min_samples_leaf: Optional[int] = MinSamplesLeafOption,
    class_weight: str = ClassWeightOption,
    test_size: float = TestSizeOption,
    split_seed: int = SplitSeedOption,
    data_path: Optional[Path] = DataOption,
) -> None:
    """Train a model and log it as an MLflow run (params, metrics, datasets, model)."""
    with user_errors():
        params = _train_params(
            model, C, max_iter, n_estimators, max_depth, min_samples_leaf, class_weight, test_size, split_seed
        )

        from mlflow.tracking import MlflowClient

        from churn import tracking
        from churn.metrics import METRICS
        from churn.train import train as run_training

        run_id = run_training(params, data=data_path)
        metrics = MlflowClient().get_run(run_id).data.metrics
        tracking.report_to_project_run({"training_run_id": run_id}, {"roc_auc": metrics["roc_auc"]})
        console.print(f"[bold green]Training_Run[/] {run_id} ({params.family})")
        console.print(_metrics_table("held-out split", metrics, (*METRICS, "train_roc_auc")))
        console.print(f"Next: [bold]uv run churn evaluate --run-id {run_id}[/]")
        console.print(_tracking_hint())


@app.command()
def evaluate(
    run_id: Optional[str] = typer.Option(None, "--run-id", help="Training run to evaluate [default: the latest]."),
    threshold: float = typer.Option(0.5, "--threshold", help="Churn probability above which we predict churn."),
    data_path: Optional[Path] = DataOption,
) -> None:
    """Evaluate a training run's logged model on its held-out split; log metrics and plots."""
    with user_errors():
        from mlflow.tracking import MlflowClient

        from churn import tracking
        from churn.evaluate import PLOTS
        from churn.evaluate import evaluate as run_evaluation
        from churn.metrics import METRICS

        evaluation_id = run_evaluation(run_id or None, data=data_path, threshold=threshold)
        run = MlflowClient().get_run(evaluation_id)
        tracking.report_to_project_run(
            {"evaluation_run_id": evaluation_id, "training_run_id": run.data.params["training_run_id"]},
            {"roc_auc": run.data.metrics["roc_auc"]},
        )
        console.print(
            f"[bold green]Evaluate_Run[/] {evaluation_id} of training run {run.data.params['training_run_id']}"
        )
        console.print(
            _metrics_table("held-out split", run.data.metrics, (*METRICS, "average_precision", "brier_score"))
        )
        console.print("Artifacts: " + ", ".join(PLOTS))
        console.print(_tracking_hint())


@app.command()
def compare(
    plot: bool = typer.Option(False, "--plot", help="Also save a comparison chart as a PNG."),
    output: Path = typer.Option(Path("churn_compare.png"), "--output", "-o", help="Where --plot saves the chart."),
    limit: int = typer.Option(20, "--limit", "-n", help="Show the best N runs."),
) -> None:
    """Training runs side by side, best ROC AUC first (the UI's compare view, in the terminal)."""
    with user_errors():
        from churn.compare import compare_runs, defaults_text
        from churn.compare import plot as save_plot
        from churn.metrics import METRICS

        runs = compare_runs()
        shown = runs.head(limit)
        table = Table(
            title=f"Training runs by ROC AUC ({len(shown)} of {len(runs)})",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            collapse_padding=True,
            pad_edge=False,
        )
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("run", no_wrap=True)
        table.add_column("params", overflow="fold", min_width=10)
        for name in METRICS:
            table.add_column(name, justify="right", no_wrap=True, style="bold" if name == "roc_auc" else None)
        for rank, row in enumerate(shown.itertuples(index=False), start=1):
            cells = row._asdict()
            table.add_row(
                str(rank), row.run_id[:8], row.description, *[f"{cells[name]:.4f}" for name in METRICS]
            )
        console.print(table)
        console.print(f"[dim]params: the model and what differs from its defaults ({defaults_text()})[/]")
        if plot:
            console.print(f"Chart saved to [bold]{save_plot(runs, output)}[/]")

# --- Module 2: registry, serving, pipeline ------------------------------------------------------------------------

ModelNameOption = typer.Option(
    None, "--name", help="Registered model [default: CHURN_MODEL_NAME or churn-classifier]."
)
PortOption = typer.Option(None, "--port", "-p", help="Port on 127.0.0.1 [default: CHURN_SERVE_PORT or 5001].")
MarginOption = typer.Option(
    None,
    "--margin",
    help="Promote when staging ROC AUC >= production ROC AUC + margin [default: CHURN_PROMOTION_MARGIN or 0.0].",
)


@contextmanager
def sigterm_as_ctrl_c() -> Iterator[None]:
    """Let `kill` (and `mlflow run` stopping its command) stop a server the way Ctrl-C does: cleanly, not orphaned
    (Python's default for SIGTERM exits without running any cleanup)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _fmt(value: Optional[float]) -> str:
    return "" if value is None else f"{value:.4f}"


def _decision_line(decision) -> str:
    if decision.unchanged:
        return f"[bold]unchanged[/]: {decision.reason}"
    if decision.promoted:
        return f"[bold green]promoted[/] v{decision.candidate_version} to {decision.alias}: {decision.reason}"
    return f"[bold yellow]refused[/] v{decision.candidate_version} for {decision.alias}: {decision.reason}"


@app.command()
def register(
    run_id: Optional[str] = typer.Option(
        None, "--run-id", help="Evaluation run, or training run (its latest evaluation) [default: latest evaluation]."
    ),
    name: Optional[str] = ModelNameOption,
) -> None:
    """Register an evaluated model as a new version of churn-classifier and point the alias staging at it."""
    with user_errors():
        from mlflow.tracking import MlflowClient

        from churn import tracking
        from churn.register import model_name
        from churn.register import register as register_model

        version = register_model(run_id or None, name=name)
        name = model_name(name)
        tags = MlflowClient().get_model_version(name, str(version)).tags
        tracking.report_to_project_run({"registered_model": name, "model_version": version})
        console.print(
            f"[bold green]Registered[/] {name} v{version} -> [bold]staging[/] "
            f"({tags.get('params')}, held-out ROC AUC {float(tags['roc_auc']):.4f}, "
            f"evaluation run {tags['evaluation_run_id']})"
        )
        console.print("Next: [bold]uv run churn promote --to production[/]")


@app.command()
def promote(
    to: str = typer.Option("production", "--to", help="The alias to move onto the staging version."),
    margin: Optional[float] = MarginOption,
    name: Optional[str] = ModelNameOption,
) -> None:
    """Move an alias (production) to the staging version if its ROC AUC passes the gate; else refuse and say why.

    Exit code 0 when promoted, 1 when refused (or on an error), so a CI step can gate on it.
    """
    with user_errors():
        from churn import tracking
        from churn.register import promote as run_gate

        decision = run_gate(to, margin, name=name)
        tracking.report_to_project_run({f"promotion.{k}": v for k, v in decision.to_dict().items()})
        console.print(_decision_line(decision), highlight=False)
        if decision.unchanged:
            return
        console.print(
            f"[dim]recorded on {decision.model} v{decision.candidate_version} as promotion.* tags "
            f"(decision, candidate/current ROC AUC, margin, reason, by {decision.by}, at {decision.at})[/]"
        )
        if not decision.promoted:
            raise typer.Exit(1)


@app.command()
def rollback(
    alias: str = typer.Option("production", "--alias", help="The alias to move back."),
    name: Optional[str] = ModelNameOption,
) -> None:
    """Point production back at the version that held it before the current one."""
    with user_errors():
        from churn.register import aliases, model_name
        from churn.register import rollback as run_rollback

        before = aliases(name).get(alias)
        restored = run_rollback(alias, name=name)
        console.print(f"[bold green]Rolled back[/] {model_name(name)} {alias}: v{before} -> v{restored}")


@app.command()
def registry(name: Optional[str] = ModelNameOption) -> None:
    """The registered versions with their aliases, held-out metrics and last promotion decision."""
    with user_errors():
        from mlflow.tracking import MlflowClient

        from churn.register import HISTORY_TAG, PRODUCTION, model_name, registry_table

        metrics = ("roc_auc", "accuracy", "f1")  # the rest are in the rows (and the UI); keep 80 columns readable

        rows = registry_table(name)
        name = model_name(name)
        table = Table(
            title=f"{name}: {len(rows)} version(s), newest first",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            collapse_padding=True,
            pad_edge=False,
        )
        table.add_column("version", justify="right", no_wrap=True, min_width=7)
        table.add_column("aliases", style="bold", min_width=7, overflow="fold")
        table.add_column("model", min_width=6, overflow="fold")
        for metric in metrics:
            table.add_column(metric, justify="right", no_wrap=True, min_width=len(metric))
        table.add_column("gate", min_width=8, overflow="fold")
        table.add_column("created (UTC)", min_width=11)
        for row in rows:
            gate = row["decision"]
            if row["rolled_back"] and PRODUCTION not in row["aliases"]:
                gate = f"{gate}, rolled back" if gate else "rolled back"
            table.add_row(
                f"v{row['version']}",
                ", ".join(row["aliases"]),
                row["params"],
                *[_fmt(row[metric]) for metric in metrics],
                gate,
                row["created"].strftime("%Y-%m-%d %H:%M"),
            )
        console.print(table)
        history = MlflowClient().get_registered_model(name).tags.get(HISTORY_TAG.format(alias=PRODUCTION))
        if history:
            versions = " -> ".join(f"v{v}" for v in json.loads(history))
            console.print(f"production history: {versions}", highlight=False)


@app.command()
def serve(
    alias: str = typer.Option("production", "--alias", help="Serve models:/churn-classifier@ALIAS."),
    port: Optional[int] = PortOption,
    workers: Optional[int] = typer.Option(
        None, "--workers", help="Scoring server processes [default: CHURN_SERVE_WORKERS or 1]."
    ),
    engine: Optional[str] = typer.Option(
        None, "--engine", help="batching (MLflow's scoring server, concurrent requests scored together) or mlflow "
        "(`mlflow models serve` as is) [default: CHURN_SERVE_ENGINE or batching].",
    ),
    name: Optional[str] = ModelNameOption,
) -> None:
    """Serve the model behind an alias over REST (MLflow's scoring server) on 127.0.0.1 until Ctrl-C."""
    with user_errors(), sigterm_as_ctrl_c():
        from churn.serve import curl_example
        from churn.serve import serve as start

        server = start(alias, port, name=name, workers=workers, engine=engine)
        try:
            console.print(
                f"[bold green]Serving[/] {server.model} v{server.version} ({server.model_uri}) at "
                f"[bold]{server.url}[/] ({server.engine} engine, ready in {server.startup_seconds:.1f} s)",
                highlight=False,
            )
            console.print("Try it (one customer, 1 = likely to churn):")
            print(curl_example(server.url), flush=True)
            console.print(f"or: [bold]uv run churn predict --url {server.url} customer.json[/]  Ctrl-C stops.")
            code = server.process.wait()
            raise ChurnError(f"the scoring server stopped by itself (exit code {code}): {server.last_error()}")
        except KeyboardInterrupt:
            console.print("Stopping the server ...")
        finally:
            server.stop()


@app.command()
def predict(
    customers: Path = typer.Argument(
        ..., help="JSON file: a customer (feature: value), a list of them, or an MLflow payload; - for stdin."
    ),
    url: Optional[str] = typer.Option(None, "--url", help="The model server [default: http://127.0.0.1:PORT]."),
) -> None:
    """Score customers with a running model server (churn serve) and print its predictions."""
    import sys

    with user_errors():
        from churn.serve import ID_COLUMNS
        from churn.serve import predict as score
        from llmops.settings import get_settings

        url = url or f"http://127.0.0.1:{get_settings().churn_serve_port}"
        try:
            text = sys.stdin.read() if str(customers) == "-" else customers.read_text()
        except OSError as exc:
            raise ChurnError(f"cannot read {customers}: {exc.strerror}.") from None
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ChurnError(f"{customers} is not valid JSON ({exc}).") from None
        predictions = score(url, records)
        rows = records if isinstance(records, list) else [records]
        console.print(f"{len(predictions)} prediction(s) from {url}", highlight=False)
        table = Table()
        table.add_column("#", justify="right")
        table.add_column("customer")
        table.add_column("prediction", justify="right")
        for i, prediction in enumerate(predictions):
            row = rows[i] if i < len(rows) and isinstance(rows[i], dict) else {}
            who = next((str(row[c]) for c in ID_COLUMNS if c in row), "")
            label = "1 (likely to churn)" if prediction == 1 else f"{prediction} (likely to stay)"
            table.add_row(str(i + 1), who, label)
        console.print(table)


@app.command("export-model")
def export_model(
    alias: str = typer.Option("production", "--alias", help="Export models:/churn-classifier@ALIAS."),
    output: Path = typer.Option(Path("model"), "--output", "-o", help="Folder to write (Dockerfile copies model/)."),
    name: Optional[str] = ModelNameOption,
) -> None:
    """Copy the model behind an alias into a folder, the build context the Dockerfile expects."""
    with user_errors():
        from churn.register import model_name
        from churn.serve import export_model as export

        dest = export(alias, output, name=name)
        info = json.loads((dest / "registered_model.json").read_text())
        console.print(f"[bold green]Exported[/] {model_name(name)} v{info['version']} ({alias}) to {dest}/")
        console.print(
            "Next: [bold]docker build -t churn-classifier:production .[/] then "
            "[bold]docker run --rm -p 127.0.0.1:8080:8080 churn-classifier:production[/]"
        )


@app.command()
def pipeline(
    model: str = ModelOption,
    C: Optional[float] = COption,
    max_iter: Optional[int] = MaxIterOption,
    n_estimators: Optional[int] = NEstimatorsOption,
    max_depth: Optional[int] = MaxDepthOption,
    min_samples_leaf: Optional[int] = MinSamplesLeafOption,
    class_weight: str = ClassWeightOption,
    test_size: float = TestSizeOption,
    split_seed: int = SplitSeedOption,
    margin: Optional[float] = MarginOption,
    port: int = typer.Option(0, "--port", "-p", help="Port for the smoke-test server; 0 = any free port."),
    name: Optional[str] = ModelNameOption,
    data_path: Optional[Path] = DataOption,
) -> None:
    """Train -> evaluate -> register (staging) -> promote (gate) -> serve -> smoke request -> stop."""
    import time

    with user_errors(), sigterm_as_ctrl_c():
        params = _train_params(
            model, C, max_iter, n_estimators, max_depth, min_samples_leaf, class_weight, test_size, split_seed
        )
        from churn import tracking
        from churn.pipeline import pipeline as run_pipeline

        started = time.perf_counter()

        def progress(stage: str, seconds: float, details: dict) -> None:
            text = {
                "train": lambda d: f"Training_Run {d['run_id']} ({d['family']})",
                "evaluate": lambda d: f"Evaluate_Run {d['run_id']}, held-out ROC AUC {d['roc_auc']:.4f}",
                "register": lambda d: f"{d['model']} v{d['version']} -> staging",
                "promote": lambda d: _decision_line(d["decision"]),
                "serve": lambda d: f"production (v{d['version']}) at {d['url']}",
                "smoke": lambda d: (
                    f"{len(d['predictions'])} held-out customers -> {d['predictions']} "
                    + ("(same as the registered model)" if d["ok"] else "[bold red](differs from the model!)[/]")
                ),
            }[stage](details)
            mark = "[yellow]![/]" if stage == "promote" and not details["decision"].promoted else "[green]✓[/]"
            console.print(f"{mark} {stage:<9} {seconds:5.1f} s  {text}", highlight=False)

        summary = run_pipeline(params, data=data_path, name=name, margin=margin, port=port, on_stage=progress)
        total = time.perf_counter() - started
        decision = summary.decision
        tracking.report_to_project_run(
            {
                "training_run_id": summary.training_run_id,
                "evaluation_run_id": summary.evaluation_run_id,
                "registered_model": summary.model,
                "model_version": summary.version,
                "promotion.decision": decision.decision,
                "promotion.reason": decision.reason,
                "served_version": summary.served_version,
            },
            {"roc_auc": summary.roc_auc, "pipeline_seconds": total},
        )
        console.print(
            f"Pipeline done in {total:.1f} s: {summary.model} v{summary.version} {decision.decision}, "
            f"production is v{summary.served_version}; server stopped.",
            highlight=False,
        )
        if not summary.smoke_ok:
            raise ChurnError(
                f"smoke test failed: the served model answered {summary.smoke_predictions}, the registered model "
                f"predicts {summary.smoke_expected}."
            )


# --- the Module 2 exam kit ------------------------------------------------------------------------------------

exam_app = typer.Typer(
    help="Module 2 exam kits: a store and registry left by several pipeline runs, a bilingual quiz, grading.",
    no_args_is_help=True,
)
app.add_typer(exam_app, name="exam")


@exam_app.command("build")
def exam_build(
    seed: int = typer.Option(..., "--seed", help="Same seed, same runs, versions, decisions and quiz."),
    out: Path = typer.Option(..., "--out", help="A new (or empty) folder for the kit, e.g. exam-m2/."),
    data: Optional[Path] = DataOption,
) -> None:
    """Run the pipeline on five candidate models into a fresh store in OUT and write the quiz on it."""
    with user_errors():
        from churn.exam.build import build_kit

        console.print(f"Building the Module 2 kit of seed {seed} in {out} (five train -> evaluate -> register -> "
                      "promote runs, about a minute) ...", highlight=False)  # fmt: skip
        report = build_kit(seed, out, data)
    console.print(
        f"[bold]exam kit[/] {report.out}: {report.runs} runs, {report.versions} versions "
        f"(production: version {report.production}), {report.questions} questions ({report.seconds:.0f} s)\n"
        f"students get everything but {report.out}/teacher/ "
        f"(`churn exam student-copy {report.out} OUT` copies it without the answers)",
        highlight=False,
    )


def _shared_exam_commands() -> None:
    """Printing the quiz, grading and the students' copy work on any kit: the same commands as `llmops exam`."""
    from llmops.cli import exam as shared

    exam_app.command("questions")(shared.questions)
    exam_app.command("grade")(shared.grade)
    exam_app.command("student-copy")(shared.student_copy)


_shared_exam_commands()


if __name__ == "__main__":
    app(prog_name="churn")
