"""Execute the course notebooks top to bottom, as CI does (and as a teacher does before class).

    uv run python course/notebooks/run.py                      # all four, each in its own temporary folder
    uv run python course/notebooks/run.py nb2_project --workdir /tmp/course --out /tmp/course/nb
    uv run jupytext --to ipynb course/notebooks/nb1_mlflow.py   # a notebook to open in Jupyter

The notebooks are kept as percent-format `.py` files (jupytext): readable diffs, no outputs in git. A cell that
raises stops the run with the cell and its error; the kernel's working folder is ``workdir`` (also given to the
notebook as ``COURSE_WORKDIR``), so ``mlflow.db`` and ``mlruns/`` land there, never in the repository.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: In the order of the course.
NOTEBOOKS = ("nb1_mlflow", "nb2_project", "module2_mlops", "module3_llmops")


class CellError(RuntimeError):
    """A cell raised: the message names the notebook, the cell and the error."""


def execute(name: str, workdir: Path, *, env: dict[str, str] | None = None, timeout: int = 600, out: Path | None = None):
    """Run notebook ``name`` (a stem of this folder) with its kernel in ``workdir``; return the executed notebook.

    ``env`` replaces the kernel's environment (default: this process's). ``out`` also writes the executed
    ``.ipynb`` there, outputs included.
    """
    import jupytext
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = jupytext.read(HERE / f"{name}.py")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    kernel_env = dict(os.environ if env is None else env)
    kernel_env["COURSE_WORKDIR"] = str(workdir)
    kernel_env.setdefault("MPLBACKEND", "Agg")
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    try:
        client.execute(env=kernel_env)
    except CellExecutionError as exc:
        raise CellError(f"{name}: {exc}") from None
    finally:
        if out is not None:
            Path(out).mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, Path(out) / f"{name}.ipynb")
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", default=list(NOTEBOOKS), help=f"default: {' '.join(NOTEBOOKS)}")
    parser.add_argument("--workdir", type=Path, help="one working folder for all (default: a new one each)")
    parser.add_argument("--out", type=Path, help="write the executed .ipynb files there")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in NOTEBOOKS]
    if unknown:
        parser.error(f"unknown notebook(s): {', '.join(unknown)} (choose from {', '.join(NOTEBOOKS)})")
    for name in args.names:
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix=f"course-{name}-"))
        started = time.perf_counter()
        try:
            execute(name, workdir, out=args.out)
        except CellError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"{name}: ok in {time.perf_counter() - started:.0f} s (working folder {workdir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
