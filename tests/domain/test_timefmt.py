import datetime as dt

from crm_app.domain.timefmt import format_local


def test_times_show_in_the_tenants_zone_in_brazilian_format():
    moment = dt.datetime(2026, 11, 23, 17, 5, tzinfo=dt.UTC)
    assert format_local(moment, "America/Sao_Paulo") == "23/11/2026 14:05"
    assert format_local(moment, "America/Manaus") == "23/11/2026 13:05"
    assert format_local(moment, "Not/AZone") == "23/11/2026 17:05"
