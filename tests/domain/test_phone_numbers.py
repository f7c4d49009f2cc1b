import pytest

from crm_app.domain.phone_numbers import messaging_limit_of, parse_quality, parse_tier, token_hint, webhook_url


@pytest.mark.parametrize(("tier", "count"), [
    ("TIER_250", 250), ("TIER_2K", 2000), ("TIER_10K", 10_000), ("TIER_100K", 100_000), ("tier_1k", 1000),
    ("TIER_50", 50), ("TIER_UNLIMITED", 0), ("", None), (None, None), ("TIER_X", None), ("250", None),
])
def test_tiers_read_as_a_count_per_day(tier, count):
    assert parse_tier(tier) == count


def test_quality_is_one_of_four_words():
    assert [parse_quality(v) for v in ("GREEN", "yellow", "RED", "NA", None, "PURPLE")] == [
        "GREEN", "YELLOW", "RED", "UNKNOWN", "UNKNOWN", "UNKNOWN"]


def test_the_current_tier_field_wins_over_the_deprecated_one():
    assert messaging_limit_of({"whatsapp_business_manager_messaging_limit": "TIER_2K",
                               "messaging_limit_tier": "TIER_1K"}) == "TIER_2K"
    assert messaging_limit_of({"messaging_limit_tier": "tier_1k"}) == "TIER_1K"
    assert messaging_limit_of({"id": "1"}) is None


def test_the_verify_token_hint_never_shows_a_short_token_and_only_the_end_of_a_long_one():
    assert token_hint("abc") == "•••" and token_hint("sandbox-verify-token") == "••••••oken"
    assert webhook_url("https://crm.example.com/") == "https://crm.example.com/api/whatsapp/webhook"
