"""Fail CI when the PostgreSQL run skipped its PostgreSQL-only tests (or ran none)."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

MIN_RLS_PASSED = 30


def main(path: str) -> int:
    root = ET.parse(path).getroot()
    passed = skipped = rls_passed = 0
    for case in root.iter("testcase"):
        outcome = {child.tag for child in case}
        if "skipped" in outcome:
            skipped += 1
            if "test_rls" in case.get("classname", ""):
                print(f"PostgreSQL-only test skipped: {case.get('name')}")
                return 1
        elif not outcome & {"failure", "error"}:
            passed += 1
            if "test_rls" in case.get("classname", ""):
                rls_passed += 1
    print(f"PostgreSQL run: {passed} passed, {skipped} skipped, {rls_passed} row-level-security tests passed")
    if rls_passed < MIN_RLS_PASSED:
        print("the PostgreSQL row-level-security tests did not run")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
