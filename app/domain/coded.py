"""SNOMED CT coded entries: what a patient's coded GP record means for an NHS Health Check.

GP systems export coded entries (a SNOMED CT concept id, a date, sometimes a value);
national programmes define conditions as NHS Digital's Primary Care Domain reference sets
("clusters"). The clusters Nudge uses are data, not code: CSV files in
`app/domain/clusters/` (code, term), each listed with its source and release in
`manifest.csv`. A code in no cluster is ignored: most of a record is irrelevant.

The rules (the NHS Health Check exclusions, as cluster membership on a date):
- ever coded in CHD, stroke, TIA, hypertension, diabetes, CKD stage 3-5, atrial
  fibrillation, heart failure or PAD excludes; for hypertension, diabetes, CKD and heart
  failure a resolved code (HYPRES_COD, DMRES_COD, CKDRES_COD, HFRES_COD) on or after the
  latest diagnosis code lifts it, as the QOF registers read them;
- a statin issued in the STATIN_CURRENT_DAYS (six months) before the cohort date is
  "currently prescribed";
- the latest QRISK score of 20% or more excludes (a score needs its value);
- the latest NHS Health Check completed code is the last check (five-year recall);
- the latest ethnicity code gives the NHS ethnic category (A-S);
- the latest main-spoken-language code (PREFLANG_COD) gives the patient's language as an
  ISO 639-1 code (`app.domain.spoken_language`), when it names one.
Pure: the importer reads the files and folds each patient's entries with `PatientCodes`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from app.domain.spoken_language import iso_639_1

CLUSTERS_DIR = Path(__file__).with_name("clusters")
STATIN_CURRENT_DAYS = 183  # six months: a statin issued within them is current
QRISK_EXCLUDES_AT = 20.0  # ten-year CVD risk, percent

# exclusion cluster -> (condition name in eligibility.CONDITIONS, resolving cluster or None)
EXCLUDING: dict[str, tuple[str, str | None]] = {
    "CHD_COD": ("chd", None),
    "STRK_COD": ("stroke", None),
    "TIA_COD": ("tia", None),
    "HYP_COD": ("hypertension", "HYPRES_COD"),
    "DM_COD": ("diabetes", "DMRES_COD"),
    "CKD_COD": ("ckd", "CKDRES_COD"),
    "AFIB_COD": ("af", None),
    "HF_COD": ("heart_failure", "HFRES_COD"),
    "PAD_COD": ("pad", None),
}
RESOLVING = {res for _, res in EXCLUDING.values() if res is not None}
STATIN = "STATIN"
QRISK = "QRISK"
CHECK_COMPLETED = "NHSHC_COD"
ETHNICITY = "ETHNICITY"
LANGUAGE = "PREFLANG_COD"
# outcomes of a check (app.domain.outcomes): results with a value, and new diagnoses
MEASURE_CLUSTERS = (QRISK, "SBP_QOF", "CHOL2_COD", "IFCCHBAM_COD")
NDH = "NDH_COD"
DIAGNOSIS_CLUSTERS = (*EXCLUDING, NDH)
_OUTCOME_CLUSTERS = frozenset(MEASURE_CLUSTERS) | frozenset(DIAGNOSIS_CLUSTERS)
# The 16 groups of the ethnicity codelist (Grouping_16) as NHS ethnic category codes.
_ETHNIC_GROUP_16 = "ABCDEFGHJKLMNPRS"


# The code Nudge writes back for a completed check, and the cluster it must belong to.
CHECK_COMPLETED_CODE = "523221000000100"


class ClusterFileError(ValueError):
    """A cluster file (or the manifest) that cannot be read: names the file and line."""


class ConceptIdError(ValueError):
    """Not a SNOMED CT concept id."""


# Verhoeff's dihedral-group tables (SNOMED CT ids end in a Verhoeff check digit)
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6), (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4), (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)  # fmt: skip
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2), (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)  # fmt: skip


def concept_id(raw: str) -> str:
    """The concept id in `raw` (spaces trimmed), or ConceptIdError saying why not.

    SNOMED CT ids are 6-18 digits, not starting with 0, the last a Verhoeff check digit.
    """
    value = raw.strip()
    if not (6 <= len(value) <= 18 and value.isascii() and value.isdigit()) or value[0] == "0":
        raise ConceptIdError(f"{value[:30]!r} is not a SNOMED CT concept id (6-18 digits)")
    check = 0
    for i, digit in enumerate(reversed(value)):
        check = _D[check][_P[i % 8][ord(digit) - 48]]
    if check:
        raise ConceptIdError(f"{value} is not a SNOMED CT concept id (check digit)")
    return value


@dataclass(frozen=True)
class Cluster:
    name: str
    meaning: str
    source: str
    release: str
    codes: dict[str, str]  # concept id -> term


@dataclass(frozen=True)
class Clusters:
    by_name: dict[str, Cluster]
    # concept id -> the cluster names it belongs to, its ethnic category, its language
    membership: dict[str, tuple[str, ...]]
    ethnic_category: dict[str, str]
    language: dict[str, str] = field(default_factory=dict)  # ISO 639-1

    def names_of(self, code: str) -> tuple[str, ...]:
        return self.membership.get(code, ())


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            return list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ClusterFileError(f"{path.name}: {exc}") from None


def load_clusters(directory: Path = CLUSTERS_DIR) -> Clusters:
    """Every cluster listed in `directory`/manifest.csv, each file checked line by line."""
    manifest = _rows(directory / "manifest.csv")
    by_name: dict[str, Cluster] = {}
    membership: dict[str, list[str]] = {}
    ethnic: dict[str, str] = {}
    language: dict[str, str] = {}
    for line, entry in enumerate(manifest, start=2):
        file_name, name = (entry.get("file") or "").strip(), (entry.get("cluster") or "").strip()
        path = directory / file_name
        if not file_name or not name or not path.is_file():
            raise ClusterFileError(f"manifest.csv line {line}: unknown cluster file {file_name!r}")
        codes: dict[str, str] = {}
        for code_line, row in enumerate(_rows(path), start=2):
            try:
                code = concept_id(row.get("code") or "")
            except ConceptIdError as exc:
                raise ClusterFileError(f"{file_name} line {code_line}: {exc}") from None
            codes[code] = (row.get("term") or row.get("Ethnicity") or "").strip()
            if name == ETHNICITY:
                group = (row.get("Grouping_16") or "").strip()
                if not group.isdigit() or not 1 <= int(group) <= len(_ETHNIC_GROUP_16):
                    raise ClusterFileError(
                        f"{file_name} line {code_line}: Grouping_16 {group!r} is not 1-16"
                    )
                ethnic[code] = _ETHNIC_GROUP_16[int(group) - 1]
            elif name == LANGUAGE and (iso := iso_639_1(codes[code])) is not None:
                language[code] = iso
            membership.setdefault(code, []).append(name)
        by_name[name] = Cluster(
            name, entry.get("meaning") or "", entry.get("source") or "",
            entry.get("release") or "", codes,
        )  # fmt: skip
    return Clusters(by_name, {c: tuple(n) for c, n in membership.items()}, ethnic, language)


@cache
def national_clusters() -> Clusters:
    """The clusters shipped with Nudge (read once per process)."""
    return load_clusters()


def completed_check_code(clusters: Clusters) -> tuple[str, str]:
    """(code, term) for "NHS Health Check completed", looked up in its cluster's file."""
    codes = clusters.by_name[CHECK_COMPLETED].codes
    if CHECK_COMPLETED_CODE not in codes:
        raise ClusterFileError(f"{CHECK_COMPLETED} has no {CHECK_COMPLETED_CODE}")
    return CHECK_COMPLETED_CODE, codes[CHECK_COMPLETED_CODE]


@dataclass(slots=True)
class PatientCodes:
    """One patient's relevant coded entries, folded as they stream in (latest dates)."""

    latest: dict[str, date] = field(default_factory=dict)  # cluster -> latest date
    qrisk: tuple[date, float] | None = None
    ethnicity: tuple[date, str] | None = None
    language: tuple[date, str] | None = None  # the latest main spoken language (ISO 639-1)
    # diagnosis cluster -> earliest date (whether a diagnosis after a check is new)
    first: dict[str, date] | None = None
    # (cluster, code, date, value) of possible check outcomes on or after `outcomes_since`
    outcomes: list[tuple[str, str, date, float | None]] | None = None

    def add(
        self,
        clusters: Clusters,
        code: str,
        on: date,
        value: float | None,
        outcomes_since: date | None = None,
        names: tuple[str, ...] | None = None,
    ) -> None:
        """Fold one entry in; `names` are the code's clusters, when the caller knows."""
        for name in clusters.names_of(code) if names is None else names:
            if outcomes_since is not None and name in _OUTCOME_CLUSTERS:
                self._outcome(name, code, on, value, outcomes_since)
            if name == QRISK:
                if value is not None and (self.qrisk is None or (on, value) > self.qrisk):
                    self.qrisk = (on, value)
            elif name == ETHNICITY:
                category = clusters.ethnic_category[code]
                if self.ethnicity is None or (on, category) > self.ethnicity:
                    self.ethnicity = (on, category)
            elif name == LANGUAGE:
                spoken = clusters.language.get(code)
                if spoken is not None and (self.language is None or (on, spoken) > self.language):
                    self.language = (on, spoken)
            else:
                seen = self.latest.get(name)
                if seen is None or on > seen:
                    self.latest[name] = on

    def _outcome(self, name: str, code: str, on: date, value: float | None, since: date) -> None:
        if name in DIAGNOSIS_CLUSTERS:
            if self.first is None:
                self.first = {}
            seen = self.first.get(name)
            if seen is None or on < seen:
                self.first[name] = on
        if on >= since:
            if self.outcomes is None:
                self.outcomes = []
            self.outcomes.append((name, code, on, value))

    def conditions(self) -> set[str]:
        """The exclusion conditions (eligibility.CONDITIONS names) the codes establish,
        statins aside (those depend on the cohort date: see `statin_issued_on`)."""
        found: set[str] = set()
        latest = self.latest  # a cluster or two: cheaper to walk than every exclusion
        for cluster, coded in latest.items():
            rule = EXCLUDING.get(cluster)
            if rule is None:
                continue
            condition, resolving = rule
            resolved = latest.get(resolving) if resolving else None
            if resolved is None or resolved < coded:
                found.add(condition)
        if self.qrisk is not None and self.qrisk[1] >= QRISK_EXCLUDES_AT:
            found.add("cvd_risk_20")
        return found

    @property
    def statin_issued_on(self) -> date | None:
        return self.latest.get(STATIN)

    @property
    def check_completed_on(self) -> date | None:
        return self.latest.get(CHECK_COMPLETED)

    @property
    def ethnic_category(self) -> str | None:
        return None if self.ethnicity is None else self.ethnicity[1]

    @property
    def spoken_language(self) -> str | None:
        """ISO 639-1 code of the latest main-spoken-language entry naming one."""
        return None if self.language is None else self.language[1]


def statin_current_from(on: date) -> date:
    """A statin issued on or after this date is "currently prescribed" on `on`."""
    return on - timedelta(days=STATIN_CURRENT_DAYS)


def statin_current(issued_on: date | None, on: date) -> bool:
    return issued_on is not None and issued_on >= statin_current_from(on)
