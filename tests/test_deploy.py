"""The deployment files agree with each other and with the app.

compose.yaml, the Procfile and the Dockerfile name the same processes; the image runs as a non-root
user and bakes in no secret; settings load with production environment variables; `collectstatic`
(the image's build step) works and WhiteNoise serves its output with DEBUG off. `docker compose
config` validates compose.yaml when a docker client with the compose plugin is installed (offline:
it only reads and resolves the file).
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BASE = Path(__file__).resolve().parent.parent
FERNET_KEY = "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="
BEAT = "celery -A salesdept beat --loglevel INFO --scheduler django_celery_beat.schedulers:DatabaseScheduler"
RELEASE = "python manage.py migrate --noinput && python manage.py sync_schedules"
SECRET_NAMES = ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "PASSWORD", "API_KEY", "WEBHOOK_SECRET")


def _compose() -> dict:
    return yaml.safe_load((BASE / "compose.yaml").read_text())


def _procfile() -> dict[str, str]:
    lines = (BASE / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def _command(service: dict) -> str:
    """A compose command as the shell line it runs ($$ is compose's escape for $)."""
    command = service["command"]
    if isinstance(command, list):
        command = command[2] if command[:2] == ["sh", "-c"] else shlex.join(command)
    return command.removeprefix("exec ").replace("$$", "$")


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (BASE / "Dockerfile").read_text())
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            rows.append((instruction.upper(), arguments.strip()))
    return rows


def _dockerfile_cmd() -> str:
    (cmd,) = [arguments for instruction, arguments in _dockerfile_instructions() if instruction == "CMD"]
    words = yaml.safe_load(cmd)  # the JSON exec form
    assert words[:2] == ["sh", "-c"]
    return words[2].removeprefix("exec ")


# Set by the test run itself (pytest-env, the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE), never in production.
NOT_IN_PRODUCTION = (
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "APPROVAL_HOLD_SECONDS",
)


def _production_env(tmp_path: Path, **extra: str) -> dict:
    clean = {key: value for key, value in os.environ.items() if key not in NOT_IN_PRODUCTION}
    return {
        **clean,
        "DEBUG": "false",
        "SECRET_KEY": "production-like-" + "k" * 50,
        "FIELD_ENCRYPTION_KEYS": FERNET_KEY,
        "DATABASE_URL": "postgres://salesdept:secret@127.0.0.1:5432/salesdept",
        "ALLOWED_HOSTS": "sales.example.com",
        "ENV_FILE": str(tmp_path / "no-such.env"),  # never the checkout's own .env
        "VAR_DIR": str(tmp_path / "var"),
        **extra,
    }


# compose.yaml, the Procfile and the Dockerfile


def test_compose_runs_web_worker_one_beat_migrate_postgres_and_redis():
    services = _compose()["services"]
    assert set(services) == {"web", "worker", "beat", "migrate", "postgres", "redis"}
    assert _command(services["web"]).startswith("gunicorn salesdept.wsgi ")
    assert _command(services["worker"]).startswith("celery -A salesdept worker ")
    assert _command(services["beat"]) == BEAT
    assert services["beat"]["deploy"]["replicas"] == 1
    assert "replicas" in services["worker"]["deploy"]
    assert _command(services["migrate"]) == RELEASE
    assert services["migrate"]["restart"] == "no"
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"


def test_the_app_starts_after_migrate_succeeds_and_the_databases_are_healthy():
    services = _compose()["services"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }, name
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
        assert services[name]["volumes"], name
    assert set(_compose()["volumes"]) == {"postgres-data", "redis-data"}


def test_compose_holds_no_secret():
    services = _compose()["services"]
    for name, service in services.items():
        assert "ENV_FILE" in str(service.get("env_file", "ENV_FILE")), name
        for key, value in (service.get("environment") or {}).items():
            value = str(value)
            if any(secret in key for secret in SECRET_NAMES):
                assert value.startswith("${"), f"{name}.{key} is written in compose.yaml"
            # A URL's password comes from the environment, never the file.
            assert not re.search(r"://[^:/@]+:(?!\$\{)[^@]+@", value), f"{name}.{key}"
        assert services[name].get("environment", {}).get("DEBUG", "false") == "false", name


def test_the_procfile_runs_the_same_commands_as_compose():
    procfile, services = _procfile(), _compose()["services"]
    assert set(procfile) == {"web", "worker", "beat", "release"}
    assert procfile["web"].startswith("gunicorn salesdept.wsgi ")
    assert procfile["beat"] == _command(services["beat"]) == BEAT
    assert procfile["release"] == _command(services["migrate"]) == RELEASE
    assert procfile["worker"] == _command(services["worker"])
    # Same gunicorn options, apart from the port (the platform's $PORT; compose publishes 8000).
    assert procfile["web"].replace("${PORT:-8000}", "8000") == _command(services["web"])


def test_the_image_runs_gunicorn_by_default_like_compose_and_the_procfile():
    assert _dockerfile_cmd().startswith("gunicorn salesdept.wsgi ")
    assert _dockerfile_cmd() == _procfile()["web"]


def test_the_image_runs_as_a_non_root_user_and_bakes_in_no_secret():
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [arguments for instruction, arguments in instructions if instruction == "USER"]
    assert users and users[-1] not in ("root", "0"), "the image's processes must not run as root"
    for instruction, arguments in instructions:
        if instruction in ("ENV", "ARG", "LABEL"):
            for secret in SECRET_NAMES:
                assert secret not in arguments, f"{instruction} {arguments}"
    # The throwaway keys of collectstatic exist only in that RUN step.
    (collect,) = [arguments for instruction, arguments in instructions if "collectstatic" in arguments]
    assert "SECRET_KEY=" in collect and "FIELD_ENCRYPTION_KEYS=" in collect
    assert any(instruction == "RUN" and "--no-cache-dir -r requirements.txt" in a for instruction, a in instructions)
    (healthcheck,) = [arguments for instruction, arguments in instructions if instruction == "HEALTHCHECK"]
    assert "/healthz" in healthcheck and '"python"' in healthcheck and "curl" not in healthcheck


def test_the_image_leaves_out_local_state_and_secrets():
    ignored = set((BASE / ".dockerignore").read_text().split())
    assert {".venv", "var", ".git", "tests/artifacts", "**/__pycache__", ".env"} <= ignored


def test_gunicorn_and_whitenoise_are_pinned():
    requirements = (BASE / "requirements.txt").read_text().splitlines()
    assert any(re.fullmatch(r"gunicorn==[\d.]+", line) for line in requirements)
    assert any(re.fullmatch(r"whitenoise==[\d.]+", line) for line in requirements)


def _run_image_healthcheck(port: str) -> subprocess.CompletedProcess:
    """The Dockerfile's HEALTHCHECK command, as the container would run it (env as in production)."""
    (healthcheck,) = [
        arguments for instruction, arguments in _dockerfile_instructions() if instruction == "HEALTHCHECK"
    ]
    words = yaml.safe_load(healthcheck.split(" CMD ", 1)[1])
    assert words[:2] == ["python", "-c"]
    env = {
        **os.environ,
        "PORT": port,
        "ALLOWED_HOSTS": ".sales.example.com, other.example.com",
        "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    }
    return subprocess.run([sys.executable, "-c", words[2]], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.django_db(transaction=True)  # live_server answers from another thread
def test_the_image_health_check_passes_only_when_healthz_says_ok(live_server, settings):
    from django.utils import timezone

    from salesdept.models import Heartbeat

    # Production: only the public host name, https enforced, TLS ended by a proxy that says so.
    settings.ALLOWED_HOSTS = ["sales.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    port = live_server.url.rsplit(":", 1)[1]

    no_heartbeat = _run_image_healthcheck(port)  # /healthz answers 503: no beat has run
    assert no_heartbeat.returncode == 1, no_heartbeat.stderr

    Heartbeat.objects.create(name="beat", beat_at=timezone.now())
    healthy = _run_image_healthcheck(port)
    assert healthy.returncode == 0, healthy.stderr


# Settings and static files with production environment variables


def test_settings_load_with_production_environment_variables(tmp_path):
    """`check --deploy` starts (its warnings belong to the security work, not to this test)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=BASE,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


COLLECT_AND_SERVE = """
import django, sys
from django.conf import settings
settings.STATIC_ROOT = sys.argv[1]
django.setup()
from django.core.management import call_command
from django.test import Client
call_command("collectstatic", "--noinput", verbosity=0)
client = Client(HTTP_HOST="sales.example.com")
response = client.get("/static/vendor/htmx-2.0.11.min.js", secure=True, HTTP_ACCEPT_ENCODING="gzip")
print(response.status_code, response.get("Content-Encoding"), type(response).__name__)
"""


def test_collectstatic_runs_with_the_build_steps_settings_and_whitenoise_serves_the_result(tmp_path):
    static_root = tmp_path / "staticfiles"
    result = subprocess.run(
        [sys.executable, "-c", COLLECT_AND_SERVE, str(static_root)],
        cwd=BASE,
        env=_production_env(tmp_path, DJANGO_SETTINGS_MODULE="salesdept.settings"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (static_root / "vendor" / "htmx-2.0.11.min.js").is_file()
    assert (static_root / "vendor" / "htmx-2.0.11.min.js.gz").is_file()
    assert (static_root / "admin" / "css" / "base.css").is_file()
    assert result.stdout.split()[-3:] == ["200", "gzip", "WhiteNoiseFileResponse"]


# docker compose config (offline)


def _docker_compose_or_skip() -> str:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client installed: `docker compose config` cannot validate compose.yaml here")
    try:
        version = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"`docker compose version` did not run ({exc}): cannot validate compose.yaml here")
    if version.returncode != 0:
        reason = (version.stderr or version.stdout).strip().splitlines()[:1]
        pytest.skip(f"the docker client has no compose plugin ({' '.join(reason)}): cannot validate compose.yaml here")
    return docker


def test_docker_compose_config_accepts_the_compose_file(tmp_path):
    docker = _docker_compose_or_skip()
    env_file = tmp_path / "production.env"
    env_file.write_text(f"SECRET_KEY=x\nFIELD_ENCRYPTION_KEYS={FERNET_KEY}\nALLOWED_HOSTS=sales.example.com\n")
    env = {
        **os.environ,
        "ENV_FILE": str(env_file),
        "POSTGRES_PASSWORD": "not-a-real-password",
        "WORKER_REPLICAS": "3",
        "COMPOSE_PROJECT_NAME": "salesdept-test",
    }
    result = subprocess.run(
        [docker, "compose", "--file", str(BASE / "compose.yaml"), "config", "--format", "json"],
        cwd=BASE,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert resolved["services"]["worker"]["deploy"]["replicas"] == 3
    assert resolved["services"]["beat"]["deploy"]["replicas"] == 1
    assert "not-a-real-password" in resolved["services"]["web"]["environment"]["DATABASE_URL"]
    assert resolved["services"]["web"]["environment"]["SECRET_KEY"] == "x"  # from the env file


def test_docker_compose_config_refuses_to_run_without_a_database_password(tmp_path):
    docker = _docker_compose_or_skip()
    env_file = tmp_path / "production.env"
    env_file.write_text("SECRET_KEY=x\n")
    env = {key: value for key, value in os.environ.items() if key != "POSTGRES_PASSWORD"}
    result = subprocess.run(
        [docker, "compose", "--file", str(BASE / "compose.yaml"), "config"],
        cwd=tmp_path,  # no .env next to it to read POSTGRES_PASSWORD from
        env={**env, "ENV_FILE": str(env_file), "COMPOSE_PROJECT_NAME": "salesdept-test"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr
