"""The peer of `jinglao bench sweep`: the same rules as SQL CASE expressions in DuckDB.

Usage: duckdb_sweep.py PEOPLE_CSV RULES_JSON ROUNDS

Loads the packed facts the Rust sweep used (untimed for the comparison, reported), then
computes every person's answer as one integer with a bit per rule, ROUNDS times, and prints
one JSON object: DuckDB's version, the load time, the best and median time of the answers,
and how many people each rule selects (the Rust side checks these against its own).
"""

import json
import statistics
import sys
import time

import duckdb


def main() -> None:
    people_csv, rules_json, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(rules_json, encoding="utf-8") as f:
        rules = json.load(f)
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(
        "CREATE TABLE people AS SELECT * FROM read_csv(?, header = true, columns = {"
        "'region': 'BIGINT', 'birth': 'INTEGER', 'categories': 'INTEGER', 'age': 'SMALLINT', "
        "'ability': 'TINYINT', 'living': 'UTINYINT', 'sex': 'UTINYINT', 'flags': 'UTINYINT'})",
        [people_csv],
    )
    load_seconds = time.perf_counter() - started
    answer = " + ".join(
        f"(CASE WHEN {rule} THEN {1 << n} ELSE 0 END)" for n, rule in enumerate(rules)
    )
    times = []
    for _ in range(max(rounds, 1)):
        con.execute("DROP TABLE IF EXISTS answers")
        started = time.perf_counter()
        con.execute(f"CREATE TABLE answers AS SELECT CAST({answer} AS BIGINT) AS mask FROM people")
        times.append(time.perf_counter() - started)
    counts = con.execute(
        "SELECT " + ", ".join(f"SUM((mask >> {n}) & 1)" for n in range(len(rules))) + " FROM answers"
    ).fetchone()
    print(
        json.dumps(
            {
                "version": duckdb.__version__,
                "load_seconds": load_seconds,
                "match_best": min(times),
                "match_median": statistics.median(times),
                "counts": [int(c or 0) for c in counts],
            }
        )
    )


if __name__ == "__main__":
    main()
