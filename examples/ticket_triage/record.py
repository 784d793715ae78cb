"""Record the triage app's model calls into ``cassette.jsonl`` (run it once with your real model).

    OPENAI_API_KEY=sk-... uv run python examples/ticket_triage/record.py     # your real model
    uv run python examples/ticket_triage/record.py                           # the offline model stands in

The calls are traced by ``llmops.tracing`` (MLflow autologging of the ``openai`` client, PII redacted) into a
throw-away store, exported as a trace file and trimmed to the model calls: that file is the cassette the test
replays. The shipped cassette was recorded against the offline model (this repository has no API key).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from triage import triage  # noqa: E402

EMAILS = [
    "My bill doubled this month and nobody explains why. Refund the extra charge!",
    "The internet has been dropping every evening for a week, I work from home.",
    "Hello, how do I change the name on my contract?",
]


def main() -> None:
    from llmops.analysis.io import export_traces
    from llmops.llm.clients import offline_server
    from llmops.llm.replay import trim_cassette
    from llmops.tracing import flush, setup

    if not os.environ.get("OPENAI_API_KEY"):  # no real model at hand: the offline model answers
        os.environ["OPENAI_BASE_URL"] = offline_server().base_url
        os.environ["OPENAI_API_KEY"] = "offline-no-key-needed"
    with tempfile.TemporaryDirectory() as tmp:
        setup(tracking_uri=f"sqlite:///{tmp}/mlflow.db", experiment="triage-recording")
        for email in EMAILS:
            print(triage(email))
        flush()
        export_traces(Path(tmp) / "traces.jsonl", experiment="triage-recording")
        kept = trim_cassette(Path(tmp) / "traces.jsonl", HERE / "cassette.jsonl")
    print(f"recorded {kept} model calls into {HERE / 'cassette.jsonl'}")


if __name__ == "__main__":
    main()
