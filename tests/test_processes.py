"""`make run`, the Dockerfile and docker-compose.yml run the same process list."""

import yaml

from crm_app.config import PROJECT_ROOT, Settings
from crm_app.processes import PRODUCTION_ROLES, ROLES, role_command, role_environment


def test_compose_runs_every_production_role_through_the_cli():
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    roles = {cmd[1] for s in services.values() if (cmd := s.get("command")) and cmd[0] == "serve"}
    assert roles == set(PRODUCTION_ROLES)
    assert {"postgres", "redis", "migrate"} <= set(services)
    assert services["migrate"]["command"] == ["migrate"]


def test_dockerfile_enters_through_the_same_cli():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["python", "-m", "crm_app"]' in dockerfile
    assert 'CMD ["serve", "web"]' in dockerfile


def test_every_role_has_a_command_and_the_hot_path_uses_simple_workers():
    settings = Settings(redis_url="redis://127.0.0.1:6379/0", hot_workers=3)
    for role in ROLES:
        assert role_command(role, settings)
    hot = role_command("worker-hot", settings)
    pool = hot[hot.index("worker-pool"):]
    assert "rq.worker.SimpleWorker" in pool and pool[pool.index("-n") + 1] == "3" and "json" in pool


def test_background_roles_yield_the_cpu_to_the_web_role():
    settings = Settings(redis_url="redis://127.0.0.1:6379/0")
    assert role_command("web", settings)[0] != "nice"
    for role in ("worker-hot", "worker-bulk", "scheduler"):
        argv = role_command(role, settings)
        assert argv[:2] == ["nice", "-n"] and int(argv[2]) > 0
    web_env = role_environment("web", settings)
    assert web_env["REFLEX_REDIS_URL"] == "redis://127.0.0.1:6379/1" and web_env["REFLEX_USE_NPM"] == "1"
