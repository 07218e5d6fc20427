"""A write workload for the kill -9 test: `python -m bench.writer DB`. Every write goes through
db.write (audited transaction); a line is printed only after the commit returned (acknowledged):
`N <notice id>` for an inserted notice, `V <version>` for a versioned update of household 1."""

from __future__ import annotations

import sys

from qinyuan import access
from qinyuan.db import Database


def main(path: str) -> None:
    db = Database.open(path)
    actor = access.SYSTEM
    n = 0
    has_household = bool(db.scalar("SELECT count(*) FROM households WHERE id = 1"))
    while True:
        n += 1

        def add(tx, n=n):
            nid = tx.insert(
                "notices",
                {"unit_id": 1, "kind": "bench", "lang": "zh", "body": f"kill9 {n}", "created_at": tx.now, "created_by": "system"},
            )
            tx.audit("bench.notice", "notice", nid)
            return nid

        print(f"N {db.write(actor, add)}", flush=True)

        def bump(tx, n=n):
            version = tx.scalar("SELECT version FROM households WHERE id = 1")
            before, after = tx.update("households", 1, {"notes": f"kill9 {n}"}, expected_version=version)
            tx.audit("bench.bump", "household", 1, {"version": before["version"]}, {"version": after["version"]})
            return after["version"]

        if has_household:
            print(f"V {db.write(actor, bump)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
