"""The data: IBM's Telco Customer Churn CSV (7,043 customers), downloaded once and checked.

This is a small, standalone copy of what the course's `churn/loader.py` does, so that this project works on its
own once copied out of the repository. The CSV is IBM's, not ours: it is never committed, only downloaded into
data/ and checked against its sha256. Set CHURN_DATA=/path/to/telco_churn.csv to use a copy you already have.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path

import pandas as pd

URL = "https://raw.githubusercontent.com/IBM/telco-customer-churn-on-icp4d/master/data/Telco-Customer-Churn.csv"
SHA256 = "16320c9c1ec72448db59aa0a26a0b95401046bef5d02fd3aeb906448e3055e91"
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "data" / "telco_churn.csv"

TARGET = "Churn"
NUMERIC = ["SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"]
CATEGORICAL = [
    "gender", "Partner", "Dependents", "PhoneService", "MultipleLines", "InternetService", "OnlineSecurity",
    "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV", "StreamingMovies", "Contract",
    "PaperlessBilling", "PaymentMethod",
]  # fmt: skip
FEATURES = CATEGORICAL + NUMERIC
TEST_SIZE = 0.2
SPLIT_SEED = 42


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def data_path() -> Path:
    """CHURN_DATA if set, else data/telco_churn.csv, downloaded (and checked) the first time."""
    if os.environ.get("CHURN_DATA"):
        path = Path(os.environ["CHURN_DATA"])
        if not path.is_file():
            raise SystemExit(f"CHURN_DATA={path}: no such file.")
        return path
    if not DEFAULT_PATH.is_file():
        print(f"downloading {URL} ...")
        try:
            with urllib.request.urlopen(URL, timeout=30) as response:
                content = response.read()
        except OSError as exc:
            raise SystemExit(f"could not download the data ({exc}); put the CSV at {DEFAULT_PATH}.") from None
        if hashlib.sha256(content).hexdigest() != SHA256:
            raise SystemExit(f"the file at {URL} is not the expected one (sha256 differs); nothing was written.")
        DEFAULT_PATH.parent.mkdir(parents=True, exist_ok=True)
        DEFAULT_PATH.write_bytes(content)
    return DEFAULT_PATH


def load() -> pd.DataFrame:
    """The customers, typed: Churn as 0/1, the 11 blank TotalCharges (tenure 0, not billed yet) as 0.0."""
    path = data_path()
    df = pd.read_csv(path, dtype={"TotalCharges": str})
    blank = df["TotalCharges"].str.strip() == ""
    df["TotalCharges"] = pd.to_numeric(df["TotalCharges"].mask(blank, "0"), errors="raise")
    df[TARGET] = (df[TARGET] == "Yes").astype(int)
    df.attrs["source"] = str(path.resolve())
    df.attrs["sha256"] = sha256_of(path)
    df.attrs["blank_total_charges"] = int(blank.sum())
    return df


def split(df: pd.DataFrame, test_size: float = TEST_SIZE, seed: int = SPLIT_SEED):
    """The same held-out customers every time (stratified, seeded): train and evaluate share them."""
    from sklearn.model_selection import train_test_split

    return train_test_split(df, test_size=test_size, random_state=seed, stratify=df[TARGET])


def features(df: pd.DataFrame) -> pd.DataFrame:
    X = df[FEATURES].copy()
    X[NUMERIC] = X[NUMERIC].astype("float64")
    return X
