"""The verdict on one schemathesis run of tests/fuzz.sh, from its exit status and JUnit report.

schemathesis exits 1 both when a check failed and when it hit an error, and some of its
errors are its own: an exception it cannot classify (a bug in schemathesis, Hypothesis or
CPython while generating data, e.g. Hypothesis' FlakyFailure around CPython's "AST
constructor recursion depth mismatch") is titled "Runtime Error". Those say nothing about
the API and only cost that phase's cases for that operation, so they are reported and let
pass. Everything else fails: a failed check, and every error schemathesis did classify
(network errors such as a dropped connection or a timeout, schema errors in our document,
authentication errors, failed health checks), and any exit status other than 0 and 1.

Usage: fuzz_verdict.py JUNIT_XML EXIT_STATUS
"""

import sys
import xml.etree.ElementTree as ElementTree

# The title schemathesis gives errors it could not classify (schemathesis.engine.errors).
UNCLASSIFIED = "Runtime Error"


def first_lines(text, count=12):
    lines = text.strip().splitlines()
    shown = "\n".join("    " + line for line in lines[:count])
    return shown + ("\n    ..." if len(lines) > count else "")


def judge(junit_path, status):
    """Prints what the run found and returns the exit status for the test command."""
    if status not in (0, 1):
        meaning = {
            2: "schemathesis could not do its job (configuration, schema, or nothing tested)",
            124: "schemathesis did not finish in time",
        }.get(status, "schemathesis stopped abnormally")
        print(f"fuzz: FAILED: exit status {status}: {meaning}; see its output above")
        return 1
    try:
        tree = ElementTree.parse(junit_path)
    except (OSError, ElementTree.ParseError) as error:
        print(f"fuzz: FAILED: no readable JUnit report at {junit_path}: {error}")
        return 1
    failures, errors, internal = [], [], []
    operations = set()
    for case in tree.iter("testcase"):
        name = case.get("name", "?")
        operations.add(name)
        for child in case:
            text = (child.text or child.get("message") or "").strip()
            title = text.splitlines()[0].strip() if text else ""
            if child.tag == "failure":
                failures.append((name, text))
            elif child.tag == "error":
                (internal if title == UNCLASSIFIED else errors).append((name, text))
    for name, text in internal:
        print(f"fuzz: warning: schemathesis' own internal error in {name} (not a failure of the API):")
        print(first_lines(text))
    for kind, found in (("check failed", failures), ("error", errors)):
        for name, text in found:
            print(f"fuzz: FAILED: {kind} in {name}:")
            print(first_lines(text, 40))
    if failures or errors:
        return 1
    if not operations:
        print("fuzz: FAILED: the report names no operation: nothing was fuzzed")
        return 1
    if {name for name, _ in internal} >= operations:
        print("fuzz: FAILED: every operation hit an internal error: nothing trustworthy was fuzzed")
        return 1
    if status == 1 and not internal:
        print("fuzz: FAILED: schemathesis exited 1 but its report shows no failure; see its output above")
        return 1
    print(f"fuzz: passed: {len(operations)} operations, {len(internal)} internal schemathesis error(s) ignored")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(judge(sys.argv[1], int(sys.argv[2])))
