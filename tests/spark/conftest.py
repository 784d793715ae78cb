"""One Spark session (local[2], UI off, 127.0.0.1) and one logged analyzer model for the whole test session:
Spark takes tens of seconds to start on two shared cores, and each executor builds the analyzer once."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EMPTY_ROW = 116  # index in data/comments.csv of a comment with an empty text


@pytest.fixture(scope="package")
def spark_env(session_store, tmp_path_factory):
    """The settings the model and the executors read, all absolute (executors do not share our folder);
    restored when the folder's tests are done."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LLMOPS_EXPERIMENT", "test-spark")
        env.setenv("LLMOPS_DATA_DIR", str(REPO_ROOT / "data"))
        env.setenv("LLMOPS_PROMPTS_DIR", str(REPO_ROOT / "prompts"))
        env.setenv("LLMOPS_TICKETS_DB", str(tmp_path_factory.mktemp("tickets") / "tickets.db"))
        yield session_store


@pytest.fixture(scope="package")
def model_uri(spark_env) -> str:
    from llmops import serving

    return serving.log_model()


@pytest.fixture(scope="package")
def spark(spark_env):
    from llmops.spark import spark_session

    session = spark_session("local[2]", shuffle_partitions=2)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def comments():
    """Five comments and an empty one, as the local engine reads them."""
    from llmops.agent.batch import read_comments

    every = read_comments(REPO_ROOT / "data" / "comments.csv")
    return every[:5] + [every[EMPTY_ROW]]
