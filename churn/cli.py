"""The ``churn`` command: thin wrappers over the library (data, train, evaluate, compare).

Each command imports its stage module (and with it pandas, scikit-learn, MLflow) only when it runs, so
``churn --help`` answers at once. A user error ends in one red line and exit code 1, never a traceback.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from churn.errors import ChurnError

app = typer.Typer(
    name="churn",
    help="Telco customer churn with MLflow experiment tracking (course Module 1).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

DataOption = typer.Option(
    None,
    "--data",
    help="A CSV of the Telco schema [default: CHURN_DATA or data/telco_churn.csv, downloaded if missing].",
)


@contextmanager
def user_errors() -> Iterator[None]:
    from llmops.settings import SettingsError

    try:
        yield
    except (ChurnError, SettingsError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


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


@app.command()
def train(
    model: str = typer.Option("lr", "--model", "-m", help="lr (LogisticRegression) or rf (RandomForest)."),
    C: Optional[float] = typer.Option(None, "--C", help="LR: inverse regularisation strength [default: 1.0]."),
    max_iter: Optional[int] = typer.Option(None, "--max-iter", help="LR: solver iterations [default: 1000]."),
    n_estimators: Optional[int] = typer.Option(None, "--n-estimators", help="RF: trees [default: 100]."),
    max_depth: Optional[int] = typer.Option(None, "--max-depth", help="RF: tree depth, 0 = unlimited [default: 8]."),
    min_samples_leaf: Optional[int] = typer.Option(None, "--min-samples-leaf", help="RF: [default: 5]."),
    class_weight: str = typer.Option("none", "--class-weight", help="none or balanced (both models)."),
    test_size: float = typer.Option(0.2, "--test-size", help="Share of customers held out."),
    split_seed: int = typer.Option(42, "--split-seed", help="Seed of the stratified split."),
    data_path: Optional[Path] = DataOption,
) -> None:
    """Train a model and log it as an MLflow run (params, metrics, datasets, model)."""
    with user_errors():
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
        ignored = [name for name in given if name not in own]
        if ignored:
            flags = ", ".join("--" + name.replace("_", "-") if name != "C" else "--C" for name in ignored)
            console.print(f"[yellow]note:[/] {flags} not used by {params.family} (not logged).")

        from mlflow.tracking import MlflowClient

        from churn.compare import METRICS
        from churn.train import train as run_training

        run_id = run_training(params, data=data_path)
        metrics = MlflowClient().get_run(run_id).data.metrics
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

        from churn.compare import METRICS
        from churn.evaluate import PLOTS
        from churn.evaluate import evaluate as run_evaluation

        evaluation_id = run_evaluation(run_id, data=data_path, threshold=threshold)
        run = MlflowClient().get_run(evaluation_id)
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
        from churn.compare import METRICS, compare_runs, defaults_text
        from churn.compare import plot as save_plot

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


if __name__ == "__main__":
    app()
