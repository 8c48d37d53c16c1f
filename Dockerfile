# Sales Department: one image for every process (web, worker, beat, migrate); the command picks which.
# Build: docker build -t salesdept .   Configuration comes only from environment variables at run time
# (.env.example lists them); no secret is baked into the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app

# The processes run as this unprivileged user; the code stays owned by root (read-only to the app).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

# WeasyPrint (proposal PDFs) draws text with Pango and HarfBuzz; DejaVu gives it a font with £, € and “”.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

# Static files are collected into the image (WhiteNoise serves them). Settings refuse to load with
# DEBUG off and no keys, so this one step gets throwaway values that live only in this RUN.
RUN SECRET_KEY="collectstatic-only-$(python -c 'import secrets; print(secrets.token_urlsafe(32))')" \
    FIELD_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    DEBUG=false \
    python manage.py collectstatic --noinput \
    && mkdir -p var \
    && chown app:app var

USER app

EXPOSE 8000

# /healthz checks the database, the broker and beat's heartbeat (503 if any fails). The Host header is
# the first ALLOWED_HOSTS entry; behind a TLS proxy (SECURE_PROXY_SSL_HEADER) the check says "https"
# in that header, so SECURE_SSL_REDIRECT does not turn it into a redirect.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import http.client, os, sys; hosts = [h.strip().lstrip('.') for h in os.environ.get('ALLOWED_HOSTS', '').split(',') if h.strip() not in ('', '*')]; proxy = os.environ.get('SECURE_PROXY_SSL_HEADER'); c = http.client.HTTPConnection('127.0.0.1', int(os.environ.get('PORT') or 8000), timeout=8); c.request('GET', '/healthz', headers={'Host': hosts[0] if hosts else 'localhost', **({proxy: 'https'} if proxy else {})}); sys.exit(0 if c.getresponse().status == 200 else 1)"]

# Web under gunicorn. WEB_CONCURRENCY: worker processes (about 2 per CPU); GUNICORN_TIMEOUT: seconds a
# request may take before its worker is restarted; GUNICORN_CMD_ARGS adds any other gunicorn option.
CMD ["sh", "-c", "exec gunicorn salesdept.wsgi --bind 0.0.0.0:${PORT:-8000} --workers ${WEB_CONCURRENCY:-3} --timeout ${GUNICORN_TIMEOUT:-60} --graceful-timeout 30 --access-logfile - --no-control-socket"]
