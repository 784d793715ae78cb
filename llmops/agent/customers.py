"""The customer table behind the ``lookup_customer`` tool (``data/customers.csv``)."""

from __future__ import annotations

import csv
from pathlib import Path

from llmops.errors import UserError

COLUMNS = ("customer_id", "name", "plan", "tenure_months", "monthly_charges", "contract", "city", "status")


class CustomerTableError(UserError, ValueError):
    """The customer table is unusable; the message names the file, row or column."""


class CustomerTable:
    def __init__(self, rows: dict[str, dict]) -> None:
        self._rows = rows

    @classmethod
    def load(cls, path: Path | str) -> "CustomerTable":
        path = Path(path)
        if not path.is_file():
            raise CustomerTableError(f"customer table {path} does not exist")
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in ("customer_id", "plan", "tenure_months", "monthly_charges", "contract")
                       if c not in (reader.fieldnames or [])]
            if missing:
                raise CustomerTableError(f"{path}: missing column(s) {', '.join(missing)}")
            rows: dict[str, dict] = {}
            for line, row in enumerate(reader, start=2):
                try:
                    row["tenure_months"] = int(row["tenure_months"])
                    row["monthly_charges"] = float(row["monthly_charges"])
                except ValueError:
                    raise CustomerTableError(
                        f"{path}, line {line}: tenure_months/monthly_charges must be numbers"
                    ) from None
                rows[row["customer_id"]] = row
        return cls(rows)

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, customer_id: str) -> dict | None:
        row = self._rows.get(customer_id)
        return dict(row) if row else None
