"""The peer of `jinglao bench settle`: the same month's statement totals computed in DuckDB.

Usage: duckdb_settle.py VISITS_CSV PRICES_CSV ROUNDS

Loads the month's visits (after the month-end re-check) and the contract prices the Rust side
settled with (untimed, reported), then ROUNDS times prices every payable visit (verified or
accepted) at the price in force on its day and sums per provider and funding source. Prints one
JSON object: DuckDB's version, the load time, the best and median time, and the totals (the
Rust side checks them against its statements).
"""

import json
import statistics
import sys
import time

import duckdb


def main() -> None:
    visits_csv, prices_csv, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(
        "CREATE TABLE visits AS SELECT * FROM read_csv(?, header = true, columns = {"
        "'provider': 'VARCHAR', 'funding': 'VARCHAR', 'item': 'VARCHAR', 'day': 'DATE', "
        "'status': 'VARCHAR'})",
        [visits_csv],
    )
    con.execute(
        "CREATE TABLE prices AS SELECT * FROM read_csv(?, header = true, columns = {"
        "'provider': 'VARCHAR', 'item': 'VARCHAR', 'valid_from': 'DATE', 'valid_to': 'DATE', "
        "'unit_fen': 'BIGINT'})",
        [prices_csv],
    )
    load_seconds = time.perf_counter() - started
    query = (
        "SELECT v.provider, v.funding, CAST(SUM(p.unit_fen) AS BIGINT) AS total, COUNT(*) AS lines "
        "FROM visits v JOIN prices p ON p.provider = v.provider AND p.item = v.item "
        "AND p.valid_from <= v.day AND (p.valid_to IS NULL OR p.valid_to >= v.day) "
        "WHERE v.status IN ('verified', 'accepted') GROUP BY v.provider, v.funding"
    )
    times = []
    rows = []
    for _ in range(max(rounds, 1)):
        started = time.perf_counter()
        rows = con.execute(query).fetchall()
        times.append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "version": duckdb.__version__,
                "load_seconds": load_seconds,
                "best": min(times),
                "median": statistics.median(times),
                "totals": {f"{r[0]}|{r[1]}": [r[2], r[3]] for r in rows},
            }
        )
    )


if __name__ == "__main__":
    main()
