"""tests/fuzz_verdict.py on made-up JUnit reports: only schemathesis' own errors pass."""

import contextlib
import io
import os
import tempfile
import unittest

from fuzz_verdict import judge


def report(*children):
    cases = "".join(f'<testcase name="GET /{i}">{child}</testcase>' for i, child in enumerate(children))
    return f'<testsuites><testsuite name="schemathesis">{cases}<testcase name="GET /ok"/></testsuite></testsuites>'


INTERNAL = '<error type="error">Runtime Error\n\nInconsistent results: ...\nTraceback (most recent call last):</error>'
NETWORK = '<error type="error">Network Error\n\nConnection failed</error>'
SCHEMA = '<error type="error">Schema Error\n\nInvalid regular expression</error>'
FAILURE = '<failure type="failure">1. Test Case ID: x\n\n- Undocumented status code</failure>'


class Verdict(unittest.TestCase):
    def verdict(self, xml, status):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "junit.xml")
            if xml is not None:
                with open(path, "w") as file:
                    file.write(xml)
            with contextlib.redirect_stdout(io.StringIO()):
                return judge(path, status)

    def test_a_clean_run_passes(self):
        self.assertEqual(self.verdict(report(), 0), 0)

    def test_schemathesis_own_runtime_errors_pass(self):
        self.assertEqual(self.verdict(report(INTERNAL), 1), 0)

    def test_failed_checks_and_classified_errors_fail(self):
        for child in (FAILURE, NETWORK, SCHEMA):
            for status in (0, 1):
                self.assertEqual(self.verdict(report(child), status), 1, (child, status))
        self.assertEqual(self.verdict(report(INTERNAL, FAILURE), 1), 1)

    def test_a_failing_exit_status_without_a_failure_in_the_report_fails(self):
        for status in (1, 2, 124, 130):
            self.assertEqual(self.verdict(report(), status), 1, status)

    def test_a_missing_or_empty_report_fails(self):
        self.assertEqual(self.verdict(None, 0), 1)
        self.assertEqual(self.verdict("<testsuites/>", 0), 1)

    def test_internal_errors_in_every_operation_fail(self):
        xml = '<testsuites><testsuite><testcase name="GET /a">' + INTERNAL + "</testcase></testsuite></testsuites>"
        self.assertEqual(self.verdict(xml, 1), 1)


if __name__ == "__main__":
    unittest.main()
