FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN useradd --create-home --uid 1000 app
COPY pyproject.toml README.md ./
COPY omnichannel ./omnichannel
COPY orders ./orders
COPY inventory ./inventory
COPY warehouse ./warehouse
COPY transport ./transport
COPY channels_sync ./channels_sync
COPY manage.py ./
RUN pip install . && SECRET_KEY=build-only-key-not-used-at-runtime-000000 DEBUG=0 python manage.py collectstatic --noinput
USER app
EXPOSE 8000
# gthread: keep-alive connections and 4 threads a process (bench/ingest.py: ~40% more orders/s than sync workers)
CMD ["gunicorn", "omnichannel.wsgi:application", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--workers", "4", \
     "--threads", "4", "--access-logfile", "-"]
