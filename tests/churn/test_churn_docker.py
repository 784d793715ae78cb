"""The Dockerfile without a Docker engine: every file it copies exists in the build context once
`churn export-model` has run (and .dockerignore lets it in), every program it runs is there, its `uv export`
step works on the lock, and its CMD serves the exported model (run here from the virtual environment)."""

from __future__ import annotations

import fnmatch
import importlib.metadata
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
_names = itertools.count()
#: Programs python:3.11-slim (Debian) ships: the interpreter, pip and the usual base tools.
BASE_IMAGE_PROGRAMS = {"python", "pip", "useradd", "rm"}


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in path.read_text().splitlines():
        if not current and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        current += raw.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        lines.append(current.strip())
        current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def exec_form(arguments: str) -> list[str]:
    arguments = re.sub(r"^(--\S+\s+)+", "", arguments)  # HEALTHCHECK's options
    if arguments.startswith("CMD "):
        arguments = arguments[4:]
    return json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching .dockerignore pattern wins; `!` re-includes."""
    result = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = Path(path).parts
        if any(fnmatch.fnmatch("/".join(parts[: i + 1]), pattern) for i in range(len(parts))):
            result = not negated
    return result


def programs(command: str) -> list[str]:
    """The programs a shell command line starts (first word of each `&&`/`;`/`|` segment)."""
    return [shlex.split(segment)[0] for segment in re.split(r"&&|\|\||;|\|", command) if segment.strip()]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return instructions(REPO / "Dockerfile")


@pytest.fixture(scope="module")
def context(trained, telco_csv, session_store, tmp_path_factory) -> Path:
    """A build context as the Dockerfile's comment says to make one: the repository's pyproject.toml and uv.lock,
    plus `churn export-model` of the production version (the session's random forest, skops format)."""
    from typer.testing import CliRunner

    from churn import cli as churn_cli
    from churn.evaluate import evaluate
    from churn.register import promote, register

    name = f"churn-classifier-docker-{next(_names)}"
    register(evaluate(trained["rf"], data=telco_csv, experiment=trained["experiment"]), name=name)
    assert promote(name=name).promoted
    folder = tmp_path_factory.mktemp("docker-context")
    for file in ("pyproject.toml", "uv.lock"):
        shutil.copy(REPO / file, folder / file)
    result = CliRunner().invoke(churn_cli.app, ["export-model", "--name", name, "--output", str(folder / "model")])
    assert result.exit_code == 0, result.output
    assert f"Exported {name} v1 (production) to {folder / 'model'}/" in result.stdout.replace("\n", "")
    return folder


def test_export_model_writes_a_servable_model(context):
    model = context / "model"
    for file in ("MLmodel", "model.skops", "requirements.txt", "registered_model.json"):
        assert (model / file).is_file(), file
    assert json.loads((model / "registered_model.json").read_text())["version"] == 1
    assert "sklearn.tree._tree.Tree" in (model / "MLmodel").read_text()  # skops' trusted types travel along


def test_base_image_port_and_cmd(dockerfile):
    assert dockerfile[0] == ("FROM", "python:3.11-slim")
    assert ("EXPOSE", "8080") in dockerfile
    cmd = exec_form(dict(dockerfile)["CMD"])
    assert cmd[:3] == ["mlflow", "models", "serve"]
    flags = dict(zip(cmd[3::2], cmd[4::2]))
    assert flags == {"-m": "/srv/model", "--env-manager": "local", "--host": "0.0.0.0", "--port": "8080"}
    assert sys.version_info[:2] == (3, 11)  # the image's Python is the one the project is developed on


def test_every_copy_source_is_in_the_context(dockerfile, context):
    patterns = [
        line.strip() for line in (REPO / ".dockerignore").read_text().splitlines() if line.strip() and line[0] != "#"
    ]
    copies = [shlex.split(args) for kind, args in dockerfile if kind == "COPY"]
    assert copies, "the Dockerfile copies nothing"
    for *sources, _destination in copies:
        for source in sources:
            assert (context / source).exists(), f"COPY {source}: not in the build context"
            assert not ignored(source.rstrip("/"), patterns), f"COPY {source}: excluded by .dockerignore"
    # and nothing else gets in: no data, no virtual environment, no runs
    for path in ("data/telco_churn.csv", ".venv", "mlruns", "mlflow.db", "churn/cli.py", ".git"):
        assert ignored(path, patterns), path


def test_every_program_exists(dockerfile):
    available = set(BASE_IMAGE_PROGRAMS)
    for kind, args in dockerfile:
        if kind == "RUN":
            for program in programs(args):
                assert program in available, f"RUN uses {program!r}, which the image does not have at that point"
            if re.search(r"\bpip install uv==([\d.]+)", args):
                version = re.search(r"uv==([\d.]+)", args).group(1)
                local = subprocess.run(["uv", "--version"], capture_output=True, text=True).stdout.split()[1]
                assert version == local, "the image pins another uv than the one the project uses"
                available.add("uv")
            if "uv pip install" in args:
                # console scripts of what gets installed: the model's requirements (mlflow) and their deps
                available |= {ep.name for ep in importlib.metadata.distribution("mlflow-skinny").entry_points}
                available |= {ep.name for ep in importlib.metadata.distribution("uvicorn").entry_points}
        if kind in ("CMD", "HEALTHCHECK"):
            assert exec_form(args)[0] in available, f"{kind} runs {exec_form(args)[0]!r}"
    assert {"uv", "mlflow", "uvicorn"} <= available  # `mlflow models serve` starts uvicorn


def test_dependency_step_pins_the_model_requirements_from_the_lock(dockerfile, context):
    run = next(args for kind, args in dockerfile if kind == "RUN" and "uv export" in args)
    export = next(segment.strip() for segment in run.split("&&") if segment.strip().startswith("uv export"))
    done = subprocess.run(shlex.split(export), cwd=context, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (context / "constraints.txt").read_text(), re.M))
    requirements = (context / "model" / "requirements.txt").read_text().split()
    assert requirements, "the exported model lists no requirements"
    for requirement in requirements:
        package, version = requirement.split("==")
        assert pins.get(package) == version, f"{requirement}: uv.lock pins {pins.get(package)}"


def test_cmd_serves_the_exported_model(dockerfile, context, tmp_path):
    """The image's CMD, run from the virtual environment against model/ (127.0.0.1 and a free port instead of
    0.0.0.0:8080, no tracking store configured, an empty working folder)."""
    from churn import loader
    from churn.serve import EXAMPLE_CUSTOMER, free_port, payload

    port = free_port()
    cmd = exec_form(dict(dockerfile)["CMD"])
    cmd = [str(context / "model") if a == "/srv/model" else "127.0.0.1" if a == "0.0.0.0" else a for a in cmd]
    cmd[cmd.index("8080")] = str(port)
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.endswith("TRACKING_URI")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", MLFLOW_DISABLE_TELEMETRY="true")
    workdir = tmp_path / "srv"
    workdir.mkdir()
    process = subprocess.Popen(
        [str(bin_dir / cmd[0]), *cmd[1:]], cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, process.stdout.read().decode()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the CMD's server never answered /ping"
            time.sleep(0.25)
        answer = httpx.post(f"http://127.0.0.1:{port}/invocations", json=payload(EXAMPLE_CUSTOMER), timeout=30)
        assert answer.status_code == 200 and answer.json()["predictions"] in ([0], [1])
        assert loader.FEATURES == tuple(EXAMPLE_CUSTOMER)
        assert list(workdir.iterdir()) == []  # serving writes nothing where it runs (the image's /srv is read-only)
    finally:
        os.killpg(process.pid, 15)
        process.wait(30)
