"""The test suite. Shared helpers live in tests/helpers.py; assertions there get pytest's detailed reports."""

import pytest

pytest.register_assert_rewrite("tests.helpers")
