"""Issue 15, point 7: `/api/auth/sso/start` answers alike for every tenant it will not start a login for.

The attack: the start route told a tenant with SSO set up (whose provider failed) apart from an unknown slug or a
tenant without SSO. Every refusal must now be byte-for-byte the same answer. (A tenant whose SSO works sends the
browser to its provider: that is what the route is for, so it cannot look like a refusal.)
"""

from __future__ import annotations

import httpx

from crm_app.api.routes import create_api
from crm_app.models import SsoConfig
from crm_app.services.access import sso
from tests.factories import make_tenant
from tests.support import prelogin
from tests.support.sandbox import free_port


def _tenant(db, *, enabled: bool | None) -> str:
    tenant = make_tenant(db)
    if enabled is not None:
        db.add(SsoConfig(tenant_id=tenant.id, enabled=enabled, issuer=f"http://127.0.0.1:{free_port()}",
                         client_id="c", client_secret="s", group_roles={"g": "admin"}))
        db.commit()
    return tenant.slug


async def test_every_refusal_looks_the_same(db):
    sso.forget_caches()
    slugs = {"unknown": "no-such-company", "without_sso": _tenant(db, enabled=None),
             "switched_off": _tenant(db, enabled=False), "provider_down": _tenant(db, enabled=True)}
    transport = httpx.ASGITransport(app=create_api())
    answers = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", cookies=prelogin.COOKIES) as client:
        for name, slug in slugs.items():
            response = await client.get("/api/auth/sso/start", params=prelogin.sso_start(slug, next="/inbox"))
            answers[name] = (response.status_code, sorted(response.headers.items()), response.content)
    assert len(set(map(repr, answers.values()))) == 1, answers
    status, headers, _ = answers["unknown"]
    assert status == 303 and ("location", "/login?sso_error=unavailable&next=%2Finbox") in headers
    assert ("cache-control", "no-store") in headers
