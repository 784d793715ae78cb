"""Data and code: the loader on IBM's real file, on files with one planted fault, and the download path
against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket

import pandas as pd
import pytest

from churn import loader
from churn.errors import ChurnDataError
from llmops.settings import TELCO_CHURN_SHA256

# Column positions in IBM's file.
TENURE, CONTRACT, MONTHLY, TOTAL, CHURN = 5, 15, 18, 19, 20


def set_cell(line: str, column: int, value: str) -> str:
    cells = line.split(",")
    cells[column] = value
    return ",".join(cells)


def edit_row(row: int, column: int, value: str):
    """An edit for ``variant``: customer ``row`` (1-based, line row + 1) gets ``value`` in ``column``."""

    def edit(lines):
        lines[row] = set_cell(lines[row], column, value)
        return lines

    return edit


# --- the real file ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def telco(telco_csv) -> pd.DataFrame:
    return loader.load(telco_csv)


def test_real_file_has_the_published_facts(telco, telco_csv):
    assert telco.shape == (7043, 21)
    assert list(telco.columns) == list(loader.COLUMNS)
    assert telco[loader.ID].is_unique
    assert telco["Churn"].value_counts().to_dict() == {0: 5174, 1: 1869}
    assert telco["Contract"].value_counts().to_dict() == {"Month-to-month": 3875, "Two year": 1695, "One year": 1473}
    assert telco["InternetService"].value_counts().to_dict() == {"Fiber optic": 3096, "DSL": 2421, "No": 1526}
    assert telco["MonthlyCharges"].mean() == pytest.approx(64.7617, abs=1e-4)
    assert telco["tenure"].mean() == pytest.approx(32.3711, abs=1e-4)
    assert (telco["tenure"].min(), telco["tenure"].max()) == (0, 72)
    assert telco.attrs["sha256"] == TELCO_CHURN_SHA256
    assert telco.attrs["source"] == str(telco_csv.resolve())


def test_every_column_is_typed(telco):
    for column, allowed in loader.CATEGORIES.items():
        assert isinstance(telco[column].dtype, pd.CategoricalDtype), column
        assert list(telco[column].cat.categories) == list(allowed)
    assert {c: str(telco[c].dtype) for c in loader.NUMERIC} == {
        "SeniorCitizen": "int64", "tenure": "int64", "MonthlyCharges": "float64", "TotalCharges": "float64",
    }  # fmt: skip
    assert str(telco["Churn"].dtype) == "int64"
    assert not telco.isna().any().any()


def test_the_11_blank_total_charges_are_new_customers_set_to_zero(telco, telco_csv):
    raw = pd.read_csv(telco_csv, dtype=str, keep_default_na=False)
    blank = raw["TotalCharges"].str.strip() == ""
    assert blank.sum() == 11
    assert telco.attrs["blank_total_charges"] == 11
    assert (telco.loc[blank, "tenure"] == 0).all()
    assert (telco.loc[blank, "TotalCharges"] == 0.0).all()
    # nobody else has a zero total: the filled value cannot be confused with a real one
    assert (telco.loc[~blank, "TotalCharges"] > 0).all()


def test_a_blank_total_charges_with_tenure_is_an_error(variant):
    path = variant(edit_row(5, TOTAL, " "))  # customer 9237-HQITU, tenure 2
    with pytest.raises(ChurnDataError) as error:
        loader.load(path)
    assert "row 5 (line 6, customerID 9237-HQITU), column TotalCharges" in str(error.value)
    assert "tenure is above 0" in str(error.value)


def test_split_is_stratified_seeded_and_disjoint(telco):
    train, test = loader.split(telco)
    again_train, again_test = loader.split(telco)
    other_train, other_test = loader.split(telco, seed=7)
    assert (len(train), len(test)) == (5634, 1409)
    assert set(train[loader.ID]).isdisjoint(test[loader.ID])
    assert list(test[loader.ID]) == list(again_test[loader.ID])
    assert set(test[loader.ID]) != set(other_test[loader.ID])
    overall = telco["Churn"].mean()
    assert abs(train["Churn"].mean() - overall) < 0.001 and abs(test["Churn"].mean() - overall) < 0.001


def test_model_input_is_strings_and_floats_without_id_or_target(telco):
    X = loader.features(telco.head(50))
    assert list(X.columns) == list(loader.FEATURES)
    assert {str(X[c].dtype) for c in loader.NUMERIC} == {"float64"}
    assert all(isinstance(value, str) for value in X["Contract"])
    assert loader.target(telco.head(50)).isin([0, 1]).all()


# --- files with a planted fault --------------------------------------------------------------------------------


def test_unparsable_number_names_row_and_column(variant):
    path = variant(edit_row(5, MONTHLY, "70.7 EUR"))
    with pytest.raises(ChurnDataError) as error:
        loader.load(path)
    message = str(error.value)
    assert str(path) in message
    assert "row 5 (line 6, customerID 9237-HQITU), column MonthlyCharges: '70.7 EUR' is not a number" in message


def test_every_bad_value_in_a_column_is_counted(variant):
    def edit(lines):
        for row in (3, 9, 12):
            lines[row] = set_cell(lines[row], TENURE, "n/a")
        return lines

    with pytest.raises(ChurnDataError, match=r"row 3 \(line 4, .*column tenure: 'n/a'.*2 more row"):
        loader.load(variant(edit))


def test_unknown_category_lists_the_allowed_values(variant):
    with pytest.raises(ChurnDataError) as error:
        loader.load(variant(edit_row(2, CONTRACT, "Monthly")))
    assert "row 2 (line 3, customerID 5575-GNVDE), column Contract: 'Monthly'" in str(error.value)
    assert "Month-to-month, One year, Two year" in str(error.value)


def test_churn_must_be_yes_or_no(variant):
    with pytest.raises(ChurnDataError, match=r"row 1 \(line 2, customerID 7590-VHVEG\), column Churn: 'maybe'"):
        loader.load(variant(edit_row(1, CHURN, "maybe")))


def test_missing_column_is_named(variant):
    drop = lambda lines: [",".join(c for i, c in enumerate(line.split(",")) if i != TOTAL) for line in lines]  # noqa: E731
    with pytest.raises(ChurnDataError, match="missing column\\(s\\): TotalCharges"):
        loader.load(variant(drop))


def test_extra_column_is_named(variant):
    add = lambda lines: [lines[0] + ",Notes"] + [line + ",x" for line in lines[1:]]  # noqa: E731
    with pytest.raises(ChurnDataError, match="unexpected column\\(s\\): Notes"):
        loader.load(variant(add))


def test_duplicate_customer_is_named(variant):
    with pytest.raises(ChurnDataError, match="row 3 .*column customerID: '7590-VHVEG' appears more than once"):
        loader.load(variant(lambda lines: lines[:3] + [lines[1]] + lines[3:]))


@pytest.mark.parametrize(
    ("edit", "message"),
    [(lambda lines: [], "the file is empty"), (lambda lines: lines[:1], "no data rows")],
    ids=["empty", "header-only"],
)
def test_empty_files_are_named(variant, edit, message):
    with pytest.raises(ChurnDataError, match=message):
        loader.load(variant(edit))


def test_an_explicit_path_must_exist(tmp_path):
    with pytest.raises(ChurnDataError, match="nowhere.csv: no such file"):
        loader.load(tmp_path / "nowhere.csv")


# --- the download path, for real, on 127.0.0.1 -----------------------------------------------------------------


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Point the settings' cached copy at a path that does not exist yet."""
    path = tmp_path / "data" / "telco_churn.csv"
    monkeypatch.setenv("CHURN_DATA", str(path))
    return path


def test_missing_file_is_downloaded_verified_and_cached(http_server, cache, telco_csv, monkeypatch):
    base, folder, hits = http_server
    (folder / "Telco-Customer-Churn.csv").write_bytes(telco_csv.read_bytes())
    monkeypatch.setenv("CHURN_DATA_URL", f"{base}/Telco-Customer-Churn.csv")

    df = loader.load()
    assert len(df) == 7043 and df.attrs["sha256"] == TELCO_CHURN_SHA256
    assert cache.read_bytes() == telco_csv.read_bytes()
    assert hits == ["/Telco-Customer-Churn.csv"]

    loader.load()  # second time: read from the cache, no request
    assert hits == ["/Telco-Customer-Churn.csv"]


def test_checksum_mismatch_discards_the_download(http_server, cache, telco_csv, monkeypatch):
    base, folder, hits = http_server
    tampered = telco_csv.read_text().replace("9237-HQITU,Female", "9237-HQITU,Male", 1)
    (folder / "Telco-Customer-Churn.csv").write_text(tampered)
    monkeypatch.setenv("CHURN_DATA_URL", f"{base}/Telco-Customer-Churn.csv")

    with pytest.raises(ChurnDataError) as error:
        loader.load()
    message = str(error.value)
    assert f"checksum mismatch for {base}/Telco-Customer-Churn.csv" in message
    assert f"expected sha256 {TELCO_CHURN_SHA256}" in message
    assert not cache.exists() and list(cache.parent.iterdir()) == []  # no file, no partial file
    assert hits == ["/Telco-Customer-Churn.csv"]


def test_a_mirror_with_its_own_checksum_is_accepted(http_server, cache, telco_csv, monkeypatch):
    import hashlib

    base, folder, _ = http_server
    other = telco_csv.read_text().replace("9237-HQITU,Female", "9237-HQITU,Male", 1)
    (folder / "other.csv").write_text(other)
    monkeypatch.setenv("CHURN_DATA_URL", f"{base}/other.csv")
    monkeypatch.setenv("CHURN_DATA_SHA256", hashlib.sha256(other.encode()).hexdigest())
    assert loader.load().loc[4, "gender"] == "Male"


def test_no_network_and_no_file_says_where_to_put_it(cache, monkeypatch):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("CHURN_DATA_URL", f"http://127.0.0.1:{port}/Telco-Customer-Churn.csv")
    with pytest.raises(ChurnDataError) as error:
        loader.load()
    message = str(error.value)
    assert f"{cache} is missing and could not be downloaded from http://127.0.0.1:{port}/" in message
    assert f"Put the IBM Telco Customer Churn CSV at {cache}" in message
    assert "--data PATH" in message
    assert not cache.exists()


def test_http_error_is_reported_like_no_network(http_server, cache, monkeypatch):
    base, _, _ = http_server
    monkeypatch.setenv("CHURN_DATA_URL", f"{base}/gone.csv")
    with pytest.raises(ChurnDataError, match=r"could not be downloaded from .*/gone.csv \(HTTP 404 "):
        loader.load()
