"""Stage 1, data: get the IBM Telco Customer Churn file, check it, type every column, split it.

Where the file comes from, in order:

1. ``--data PATH`` (or ``load(path)``): that file, which must exist and have the Telco schema;
2. otherwise the settings' ``churn_data`` (``CHURN_DATA``, default ``data/telco_churn.csv``): used when present,
   else downloaded from ``CHURN_DATA_URL`` (IBM's public copy), checked against its sha256 and cached there.

One data decision is made here, on purpose and in the open: IBM's file has 11 customers whose ``TotalCharges``
is a blank string. All of them have ``tenure`` 0: they joined this month and have not been billed yet, so their
total charges are 0.0, not unknown. The loader sets them to 0.0 (dropping them would silently remove the
newest customers; imputing a mean would invent money) and records how many it filled in
``df.attrs["blank_total_charges"]``. A blank ``TotalCharges`` with a tenure above 0 has no such explanation
and is reported as an error.
"""

from __future__ import annotations

import hashlib
import logging
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from churn.errors import ChurnDataError

logger = logging.getLogger(__name__)

ID = "customerID"
TARGET = "Churn"

YES_NO = ("No", "Yes")
NO_INTERNET = ("No", "Yes", "No internet service")

#: The categorical columns and every value they may take (in IBM's file, exactly these).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "gender": ("Female", "Male"),
    "Partner": YES_NO,
    "Dependents": YES_NO,
    "PhoneService": YES_NO,
    "MultipleLines": ("No", "Yes", "No phone service"),
    "InternetService": ("DSL", "Fiber optic", "No"),
    "OnlineSecurity": NO_INTERNET,
    "OnlineBackup": NO_INTERNET,
    "DeviceProtection": NO_INTERNET,
    "TechSupport": NO_INTERNET,
    "StreamingTV": NO_INTERNET,
    "StreamingMovies": NO_INTERNET,
    "Contract": ("Month-to-month", "One year", "Two year"),
    "PaperlessBilling": YES_NO,
    "PaymentMethod": (
        "Electronic check",
        "Mailed check",
        "Bank transfer (automatic)",
        "Credit card (automatic)",
    ),
}
#: The numeric columns (SeniorCitizen is already 0/1 in the file, so it is used as a number).
NUMERIC = ("SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges")
CATEGORICAL = tuple(CATEGORIES)
#: What the model sees: every column but the id and the target.
FEATURES = (
    "gender", "SeniorCitizen", "Partner", "Dependents", "tenure", "PhoneService", "MultipleLines",
    "InternetService", "OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV",
    "StreamingMovies", "Contract", "PaperlessBilling", "PaymentMethod", "MonthlyCharges", "TotalCharges",
)  # fmt: skip
#: The 21 columns of IBM's file, in its order.
COLUMNS = (ID, *FEATURES, TARGET)

#: The held-out split every stage shares: evaluation re-creates it from these values (recorded as run params).
TEST_SIZE = 0.2
SPLIT_SEED = 42


# --- where the file comes from -------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, dest: Path, sha256: str, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``dest`` only if its sha256 is ``sha256``; nothing is left behind otherwise."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            for block in iter(lambda: response.read(1 << 16), b""):
                digest.update(block)
                out.write(block)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        if isinstance(exc, urllib.error.HTTPError):
            reason = f"HTTP {exc.code} {exc.reason}"
        raise ChurnDataError(
            f"{dest} is missing and could not be downloaded from {url} ({reason}). "
            f"Put the IBM Telco Customer Churn CSV at {dest}, or choose another file of the same schema "
            "with --data PATH or CHURN_DATA=PATH."
        ) from None
    if digest.hexdigest() != sha256:
        partial.unlink(missing_ok=True)
        raise ChurnDataError(
            f"checksum mismatch for {url}: expected sha256 {sha256}, got {digest.hexdigest()}. "
            f"The download was discarded (nothing written to {dest}). If you meant another file, set "
            "CHURN_DATA_SHA256 to its checksum, or download it yourself and pass --data PATH."
        )
    partial.replace(dest)
    logger.info("downloaded %s to %s (sha256 verified)", url, dest)
    return dest


def locate(path: str | Path | None = None, *, download_missing: bool = True) -> Path:
    """The data file to use: ``path`` if given (it must exist), else the cached copy, downloaded if missing."""
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ChurnDataError(f"{path}: no such file (--data must point to a Telco Customer Churn CSV).")
        return path
    from llmops.settings import get_settings

    settings = get_settings()
    if settings.churn_data.is_file():
        return settings.churn_data
    if not download_missing:
        raise ChurnDataError(
            f"{settings.churn_data} is missing: run `churn data` to download it, or put the IBM Telco Customer "
            "Churn CSV there."
        )
    return download(settings.churn_data_url, settings.churn_data, settings.churn_data_sha256)


# --- reading and typing ----------------------------------------------------------------------------------------


def load(path: str | Path | None = None) -> pd.DataFrame:
    """Read the data (see :func:`locate`), check its schema and return it typed, with ``Churn`` as 0/1.

    ``df.attrs`` records ``source`` (absolute path), ``sha256`` and ``blank_total_charges`` (how many blank
    ``TotalCharges`` were set to 0.0).
    """
    path = locate(path)
    raw = read_raw(path)
    df = parse(raw, path)
    df.attrs.update(source=str(path.resolve()), sha256=sha256_of(path))
    return df


def read_raw(path: Path) -> pd.DataFrame:
    """Every cell as the string in the file (no guessing of types or missing values), header checked."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except pd.errors.EmptyDataError:
        raise ChurnDataError(f"{path}: the file is empty.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ChurnDataError(f"{path}: not a readable CSV file ({str(exc).strip()}).") from None
    missing = [c for c in COLUMNS if c not in raw.columns]
    extra = [c for c in raw.columns if c not in COLUMNS]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s): {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected column(s): {', '.join(map(str, extra))}")
        raise ChurnDataError(f"{path}: not the Telco Customer Churn schema; {'; '.join(parts)}.")
    if raw.empty:
        raise ChurnDataError(f"{path}: the header is there but there are no data rows.")
    return raw[list(COLUMNS)]


def parse(raw: pd.DataFrame, path: str | Path = "<data>") -> pd.DataFrame:
    """Type every column of a raw (all-string) frame; the first bad value raises, naming its row and column."""
    raw = raw.apply(lambda column: column.str.strip())
    out: dict[str, pd.Series] = {}

    def fail(column: str, bad: np.ndarray, problem: str) -> ChurnDataError:
        rows = np.flatnonzero(bad)
        i = int(rows[0])
        more = f" ({len(rows) - 1} more row(s) with a bad {column})" if len(rows) > 1 else ""
        return ChurnDataError(
            f"{path}: row {i + 1} (line {i + 2}, customerID {raw[ID].iloc[i] or '?'}), column {column}: "
            f"{raw[column].iloc[i]!r} {problem}{more}."
        )

    ids = raw[ID]
    if (ids == "").any():
        raise fail(ID, (ids == "").to_numpy(), "is empty; every customer needs an id")
    duplicated = ids.duplicated(keep="first").to_numpy()
    if duplicated.any():
        raise fail(ID, duplicated, "appears more than once")
    out[ID] = ids.astype("str")

    def number(column: str) -> pd.Series:
        values = pd.to_numeric(raw[column], errors="coerce")
        bad = (values.isna() | (values < 0)).to_numpy() & (raw[column] != "").to_numpy()
        if bad.any():
            raise fail(column, bad, "is not a number >= 0")
        return values

    for column in ("SeniorCitizen", "tenure"):
        values = number(column)
        blank_or_fractional = values.isna().to_numpy() | (values % 1 != 0).to_numpy()
        if blank_or_fractional.any():
            raise fail(column, blank_or_fractional, "is not a whole number")
        out[column] = values.astype("int64")
    if (out["SeniorCitizen"] > 1).any():
        raise fail("SeniorCitizen", (out["SeniorCitizen"] > 1).to_numpy(), "is not 0 or 1")

    monthly = number("MonthlyCharges")
    if monthly.isna().any():
        raise fail("MonthlyCharges", monthly.isna().to_numpy(), "is blank")
    out["MonthlyCharges"] = monthly.astype("float64")

    total = number("TotalCharges")
    blank = total.isna().to_numpy()
    unexplained = blank & (out["tenure"] > 0).to_numpy()
    if unexplained.any():
        raise fail("TotalCharges", unexplained, "is blank although tenure is above 0 (only new customers may be blank)")
    out["TotalCharges"] = total.fillna(0.0).astype("float64")  # tenure 0: not billed yet (see module docstring)

    for column, allowed in CATEGORIES.items():
        unknown = ~raw[column].isin(allowed).to_numpy()
        if unknown.any():
            raise fail(column, unknown, f"is not one of: {', '.join(allowed)}")
        out[column] = pd.Categorical(raw[column], categories=list(allowed))

    unknown = ~raw[TARGET].isin(YES_NO).to_numpy()
    if unknown.any():
        raise fail(TARGET, unknown, "is not Yes or No")
    out[TARGET] = (raw[TARGET] == "Yes").astype("int64")

    df = pd.DataFrame({column: out[column] for column in COLUMNS}, index=raw.index)
    df.attrs["blank_total_charges"] = int(blank.sum())
    if blank.any():
        logger.info("%s: %d blank TotalCharges (tenure 0) set to 0.0", path, int(blank.sum()))
    return df


# --- what the model sees ---------------------------------------------------------------------------------------


def split(
    df: pd.DataFrame, test_size: float = TEST_SIZE, seed: int = SPLIT_SEED
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified, seeded train/test split; the same arguments always give the same held-out customers."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(df, test_size=test_size, random_state=seed, stratify=df[TARGET])
    return train, test


def features(df: pd.DataFrame) -> pd.DataFrame:
    """The model's input: the feature columns, categoricals as plain strings and numbers as floats.

    Strings and floats are what a client sends to a served model as JSON, so the logged signature accepts them
    (MLflow rejects a float such as ``12.0`` in a column it has recorded as integer).
    """
    X = df.loc[:, list(FEATURES)].copy()
    for column in CATEGORICAL:
        X[column] = X[column].astype(str)
    for column in NUMERIC:
        X[column] = X[column].astype("float64")
    return X


def target(df: pd.DataFrame) -> pd.Series:
    return df[TARGET]
