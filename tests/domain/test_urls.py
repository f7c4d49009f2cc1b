import pytest

from crm_app.domain.urls import safe_next


@pytest.mark.parametrize("value", ["https://evil.example", "//evil.example", "/\\evil.example", "/\t/evil.example",
                                   "/\n/evil.example", "javascript:alert(1)", "", None, "inbox"])
def test_off_site_or_odd_targets_become_home(value):
    assert safe_next(value) == "/"


@pytest.mark.parametrize("value", ["/inbox", "/settings?tab=users", "/inbox#c-12"])
def test_same_site_paths_are_kept(value):
    assert safe_next(value) == value
