"""The tracking server image of ``compose.yaml`` (``deploy/mlflow-server.Dockerfile``): MLflow plus llmops installed
without its dependencies, run as ``mlflow server --app-name llmops``. No Docker engine is needed to check that the
recipe holds: the app factory must import with nothing of llmops' own dependencies, and compose must use it."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
# llmops' dependencies that MLflow's server image does not install (see pyproject.toml and the Dockerfile).
NOT_IN_THE_IMAGE = ["chromadb", "langchain", "langchain_core", "langchain_openai", "openai", "typer", "rich",
                    "sklearn", "matplotlib"]  # fmt: skip


def test_the_llmops_app_imports_and_registers_its_endpoint_with_only_mlflow_installed():
    script = textwrap.dedent(f"""
        import importlib.abc, sys
        blocked = {NOT_IN_THE_IMAGE!r}

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in blocked:
                    raise ImportError(f"{{name}} is not installed in the server image")
                return None

        sys.meta_path.insert(0, Block())
        from importlib.metadata import entry_points
        (app,) = [e for e in entry_points(group="mlflow.app") if e.name == "llmops"]
        flask_app = app.load()()  # the factory mlflow server calls (no uvicorn here: the Flask app)
        print(sorted(r.rule for r in flask_app.url_map.iter_rules() if "llmops" in r.rule))
    """)
    env = {"PATH": "/usr/bin:/bin", "MLFLOW_DISABLE_TELEMETRY": "true", "HOME": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "['/api/2.0/llmops/traces/batch']"


def test_compose_runs_the_llmops_app_from_the_image_recipe_on_localhost_ports_without_secrets():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    mlflow = compose["services"]["mlflow"]
    dockerfile = REPO / mlflow["build"]["dockerfile"]
    recipe = dockerfile.read_text()
    assert "--app-name llmops" in mlflow["command"]
    assert "--no-deps /src" in recipe
    # BuildKit reads <Dockerfile>.dockerignore: it must let in what the recipe copies.
    ignore = Path(f"{dockerfile}.dockerignore").read_text().split()
    for copied in ("pyproject.toml", "README.md", "llmops", "churn"):
        assert f"COPY {copied}" in recipe or f" {copied} " in recipe
        assert f"!{copied}" in ignore or f"!{copied}/" in ignore, copied
    pinned = re.search(r'"mlflow(\[[a-z,]+\])?==([0-9.]+)"', (REPO / "pyproject.toml").read_text())
    assert pinned and f'"mlflow=={pinned.group(2)}"' in recipe, "the image pins the MLflow llmops pins"
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond localhost"
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("PASSWORD", "SECRET", "KEY")) and value:
                assert str(value).startswith("${"), f"{name}.{key} is written in compose.yaml"
