"""Score customers with the saved model: the prediction a REST service would return.

    uv run src/serve.py                 # the first three customers of the data
    uv run src/serve.py 7590-VHVEG      # one customer by id

Module 2 replaces this with a real REST server (`mlflow models serve`) on a model taken from the registry.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `uv run src/serve.py` from the project folder

import joblib

import loader
from train import MODEL_FILE


def main(ids: list[str]) -> None:
    if not MODEL_FILE.is_file():
        raise SystemExit(f"{MODEL_FILE.name} is missing: run `uv run src/train.py` first.")
    df = loader.load()
    customers = df[df["customerID"].isin(ids)] if ids else df.head(3)
    if customers.empty:
        raise SystemExit(f"no customer with id {', '.join(ids)} in the data.")
    proba = joblib.load(MODEL_FILE).predict_proba(loader.features(customers))[:, 1]
    for customer_id, p in zip(customers["customerID"], proba):
        print(f"{customer_id}: churn probability {p:.2f} -> {'likely to churn' if p >= 0.5 else 'likely to stay'}")


if __name__ == "__main__":
    main(sys.argv[1:])
