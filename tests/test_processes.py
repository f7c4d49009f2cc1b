"""`make run`, the Dockerfile and docker-compose.yml run the same process list."""

import re

import yaml

from crm_app.config import PROJECT_ROOT, Settings
from crm_app.processes import NICENESS, PRODUCTION_ROLES, ROLES, WORKER_QUEUES, role_command, role_environment
from crm_app.queue import ALL_QUEUES
from crm_app.services.core.jobs import JOBS

SETTINGS = Settings(redis_url="redis://127.0.0.1:6379/0")


def _queues_of(argv: list[str]) -> list[str]:
    """The queues an `rq worker`/`worker-pool` argv serves: the positional arguments after the subcommand."""
    rest = argv[argv.index("rq.cli") + 2:]
    queues = []
    for arg in rest:
        if arg.startswith("-"):
            break
        queues.append(arg)
    return queues


def test_compose_runs_every_production_role_through_the_cli():
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    roles = {cmd[1] for s in services.values() if (cmd := s.get("command")) and cmd[0] == "serve"}
    assert roles == set(PRODUCTION_ROLES)
    assert {"postgres", "redis", "migrate"} <= set(services)
    assert services["migrate"]["command"] == ["migrate"]
    for name, service in services.items():
        if service.get("command", [None])[0] == "serve":
            assert name == service["command"][1]  # `--scale ROLE=N` scales the role of that name
            assert service["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
            # The image's health check asks the web port: only the web role keeps it.
            assert (service.get("healthcheck") == {"disable": True}) == (name != "web")


def test_dockerfile_enters_through_the_same_cli_and_names_every_role():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["python", "-m", "crm_app"]' in dockerfile
    assert 'CMD ["serve", "web"]' in dockerfile
    header = "".join(line for line in dockerfile.splitlines(keepends=True) if line.startswith("#"))
    assert set(re.findall(r"\b(?:web|scheduler|worker-[a-z]+)\b", header)) == set(PRODUCTION_ROLES)


def test_every_role_has_a_command_and_the_hot_path_uses_simple_workers():
    settings = Settings(redis_url="redis://127.0.0.1:6379/0", hot_workers=3)
    for role in ROLES:
        assert role_command(role, settings)
    hot = role_command("worker-hot", settings)
    pool = hot[hot.index("worker-pool"):]
    assert "workers.rq_workers.SimpleWorker" in pool and pool[pool.index("-n") + 1] == "3" and "json" in pool
    assert _queues_of(hot) == ["high"]


def test_each_queue_has_its_own_worker_role():
    assert sorted(WORKER_QUEUES.values()) == sorted(ALL_QUEUES)  # one role per queue, none shared
    for role, queue in WORKER_QUEUES.items():
        assert role in PRODUCTION_ROLES
        argv = role_command(role, SETTINGS)
        assert _queues_of(argv) == [queue], argv
        assert argv[argv.index("-S") + 1] == "json" and argv[argv.index("-u") + 1] == SETTINGS.effective_redis_url


def test_every_queue_of_the_job_registry_is_served_by_a_production_role():
    served = {q for role in PRODUCTION_ROLES if role.startswith("worker-")
              for q in _queues_of(role_command(role, SETTINGS))}
    registry = {spec.queue for spec in JOBS.values()}
    assert registry <= served, f"queues with jobs and no worker: {registry - served}"
    assert registry <= set(ALL_QUEUES)


def test_workers_move_their_delayed_jobs_and_only_bulk_forks():
    """`enqueue_in` (bot turns) and `Retry` (media downloads) park jobs that only RQ's scheduler moves."""
    for role in WORKER_QUEUES:
        for settings in (SETTINGS, Settings(redis_url=SETTINGS.redis_url, bot_workers=2, default_workers=2,
                                            bulk_workers=2)):
            argv = role_command(role, settings)
            # A single `rq worker` needs the flag; a pool's workers always run RQ's scheduler.
            assert "--with-scheduler" in argv or "worker-pool" in argv, argv
            forks = argv[argv.index("-w") + 1] == "workers.rq_workers.Worker"
            assert forks == (role == "worker-bulk"), argv


def test_worker_counts_come_from_settings():
    for role in ("worker-default", "worker-bulk"):
        argv = role_command(role, SETTINGS)
        assert "worker" in argv and "worker-pool" not in argv  # one process, no pool manager on top
    # Bot workers wait on AI servers: more of them than one tenant's cap, so a slow AI leaves room for others.
    assert SETTINGS.bot_workers > SETTINGS.bot_tenant_concurrency
    settings = Settings(redis_url=SETTINGS.redis_url, bot_workers=5)
    bot = role_command("worker-bot", settings)
    pool = bot[bot.index("worker-pool"):]
    assert pool[pool.index("-n") + 1] == "5"
    single = Settings(redis_url=SETTINGS.redis_url, bot_workers=1)
    names = {role_command("worker-bot", single)[-1] for _ in range(2)}
    assert len(names) == 2 and all(n.startswith("bot-") for n in names)  # a restarted worker never reuses a name


def test_background_roles_yield_the_cpu_to_the_web_role():
    settings = Settings(redis_url="redis://127.0.0.1:6379/0")
    assert role_command("web", settings)[0] != "nice"
    assert set(NICENESS) == set(PRODUCTION_ROLES) - {"web"}
    for role in NICENESS:
        argv = role_command(role, settings)
        assert argv[:2] == ["nice", "-n"] and int(argv[2]) > 0
    assert int(role_command("worker-bulk", settings)[2]) > int(role_command("worker-hot", settings)[2])
    web_env = role_environment("web", settings)
    assert web_env["REFLEX_REDIS_URL"] == "redis://127.0.0.1:6379/1" and web_env["REFLEX_USE_NPM"] == "1"
    assert web_env["REFLEX_OPLOCK_ENABLED"] == "true"  # tab states held in the socket's process (push cost)
