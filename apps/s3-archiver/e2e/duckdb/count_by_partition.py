"""Counts archived records per time partition as a data lake reader sees them: DuckDB reading the
JSON objects with hive partitioning. Prints one JSON object {"<dt>/<hour>": count}.

DuckDB's httpfs extension would read s3:// directly, but extensions download from the internet
at first use; the test downloads the objects with the AWS SDK into a directory that keeps the
keys, and DuckDB reads that directory with the same hive partitioning."""

import json
import sys

import duckdb

root = sys.argv[1]
rows = duckdb.sql(
    f"""
    SELECT dt, hour, count(*) AS n
    FROM read_json_auto('{root}/**/*.json*', hive_partitioning = true, hive_types_autocast = false)
    GROUP BY dt, hour
    ORDER BY dt, hour
    """
).fetchall()
print(json.dumps({f"{dt}/{hour}": n for dt, hour, n in rows}))
