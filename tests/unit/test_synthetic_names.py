"""Synthetic (demo) patients get forenames that fit the sex their row records, so a
personalised invitation never reads as if it went to the wrong person."""

from __future__ import annotations

import csv
import io

from app.domain import synthetic


def test_every_forename_fits_the_recorded_sex() -> None:
    for seed in range(4):
        out = io.StringIO()
        synthetic.write_gp_list(out, rows=400, seed=seed)
        rows = list(csv.reader(io.StringIO(out.getvalue())))
        header = [h.lower() for h in rows[0]]
        name_col = next(
            i for i, h in enumerate(header) if "name" in h and "sur" not in h and "last" not in h
        )
        sex_col = next(i for i, h in enumerate(header) if h in ("sex", "gender"))
        for row in rows[1:]:
            sex = row[sex_col].strip().lower()
            if sex[:1] in ("f", "2"):
                assert row[name_col] in synthetic._FORENAMES_FEMALE, row
            elif sex[:1] in ("m", "1"):
                assert row[name_col] in synthetic._FORENAMES_MALE, row


def test_the_designated_failing_numbers_go_to_two_patients_sure_to_be_invited() -> None:
    out = io.StringIO()
    synthetic.write_gp_list(out, rows=400, seed=7, failing_numbers=("07700 900002", "07700 900003"))
    rows = list(csv.reader(io.StringIO(out.getvalue())))[1:]
    digits = ["".join(c for c in row[7] if c.isdigit()) for row in rows]
    assert sum(d.endswith("900002") for d in digits) == 1
    assert sum(d.endswith("900003") for d in digits) == 1
    chosen = [row for row in rows if row[7] in ("07700 900002", "07700 900003")]
    assert len(chosen) == 2 and all(row[-2] == "" and row[-1] == "" for row in chosen)
