"""Score customers with the model of the latest Training_Run, loaded from MLflow as a generic pyfunc model.

    uv run src/serve.py                 # the first three customers of the data
    uv run src/serve.py 7590-VHVEG      # one customer by id

The same model over REST (Module 2): uv run mlflow models serve -m runs:/<run_id>/model --env-manager local -p 5001
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `uv run src/serve.py` from the project folder

import mlflow

import loader
from evaluate import latest_training_run
from train import EXPERIMENT, TRACKING_URI


def main(ids: list[str]) -> None:
    mlflow.set_tracking_uri(TRACKING_URI)
    mlflow.set_experiment(EXPERIMENT)
    run_id = latest_training_run()
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")  # what a scoring server loads
    df = loader.load()
    customers = df[df["customerID"].isin(ids)] if ids else df.head(3)
    if customers.empty:
        raise SystemExit(f"no customer with id {', '.join(ids)} in the data.")
    predictions = model.predict(loader.features(customers))
    for customer_id, label in zip(customers["customerID"], predictions):
        print(f"{customer_id}: {'likely to churn' if label == 1 else 'likely to stay'} (model of run {run_id})")


if __name__ == "__main__":
    main(sys.argv[1:])
