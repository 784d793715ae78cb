"""Charts as PNG files (matplotlib's Agg canvas: no display, no global pyplot state).

* :func:`latency_histogram` - trace durations with the p50 / p95 / p99 marked;
* :func:`error_pareto` - problems by category and detail, most frequent first, with the cumulative share.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmops.analysis.traceset import TraceSet


def _figure(width: float = 9.0, height: float = 4.8) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot(1, 1, 1)


def _save(figure: Any, out: Path | str) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(out, format=out.suffix.lstrip(".") or "png")
    return out


def latency_histogram(ts: TraceSet, out: Path | str, *, bins: int = 40) -> Path:
    """A histogram of trace durations (log-spaced bins when they span more than a factor of 20) with the
    p50, p95 and p99 as vertical lines; written to ``out`` (PNG, or SVG/PDF by extension)."""
    import numpy as np

    from llmops.analysis.frames import quantiles

    ts.require()
    durations = ts.traces["duration_ms"].dropna().astype("float64").to_numpy()
    figure, axes = _figure()
    low, high = float(durations.min()), float(durations.max())
    if low > 0 and high / low > 20:
        edges = np.geomspace(low, high, bins + 1)
        axes.set_xscale("log")
    else:
        edges = np.linspace(low, high if high > low else low + 1, bins + 1)
    axes.hist(durations, bins=edges, color="#4C72B0", edgecolor="white")
    for q, colour, value in zip(
        ("p50", "p95", "p99"), ("#2ca02c", "#ff7f0e", "#d62728"), quantiles(durations, (0.5, 0.95, 0.99))
    ):
        axes.axvline(value, color=colour, linestyle="--", linewidth=1.5, label=f"{q} {value:,.0f} ms")
    from matplotlib.ticker import MaxNLocator

    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("trace duration (ms)")
    axes.set_ylabel("traces")
    axes.set_title(f"Trace latency - {len(durations)} traces")
    axes.legend(loc="upper right")
    return _save(figure, out)


def error_pareto(ts: TraceSet, out: Path | str, *, top: int = 12) -> Path:
    """Bars of problems per ``category / detail`` (most frequent first, at most ``top``, the rest summed
    as "other") and the cumulative share as a line; a chart saying so when there is no problem."""
    from llmops.analysis.failures import error_taxonomy

    ts.require()
    table = error_taxonomy(ts)
    table = table[table["occurrences"] > 0]
    figure, axes = _figure(10.0, 5.2)
    if table.empty:
        axes.text(0.5, 0.5, f"No problems found in {len(ts)} traces", ha="center", va="center", fontsize=14)
        axes.set_axis_off()
        return _save(figure, out)
    labels = [f"{c}\n{d}" for c, d in zip(table["category"], table["detail"])]
    counts = [int(v) for v in table["occurrences"]]
    if len(labels) > top:
        labels, counts = labels[: top - 1] + ["(all others)"], counts[: top - 1] + [sum(counts[top - 1 :])]
    total = sum(counts)
    cumulative, running = [], 0
    for count in counts:
        running += count
        cumulative.append(100.0 * running / total)
    positions = list(range(len(labels)))
    axes.bar(positions, counts, color="#C44E52")
    axes.set_xticks(positions, labels, rotation=30, ha="right", fontsize=8)
    axes.set_ylabel("occurrences")
    axes.set_title(f"Problems by category - {total} in {len(ts)} traces")
    share = axes.twinx()
    share.plot(positions, cumulative, color="#333333", marker="o")
    share.set_ylim(0, 105)
    share.set_ylabel("cumulative share (%)")
    return _save(figure, out)
