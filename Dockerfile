# A serving image for the churn model in production: MLflow's scoring server on port 8080.
#
# The build context is the repository root with the model exported into model/ first:
#
#   uv run churn export-model                        # models:/churn-classifier@production -> model/
#   docker build -t churn-classifier:production .
#   docker run --rm -p 127.0.0.1:8080:8080 churn-classifier:production
#   curl -s http://127.0.0.1:8080/ping
#   uv run churn predict --url http://127.0.0.1:8080 churn/examples/customer.json
#
# .dockerignore lets only pyproject.toml, uv.lock and model/ into the context (no virtual environment, data or
# runs). Inside the container the server binds 0.0.0.0, the container's own interface; publishing the port as
# 127.0.0.1:8080 keeps it reachable from this host only.

FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_NO_CACHE=1 \
    MLFLOW_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=1

# uv, at the version the project is developed with.
RUN pip install uv==0.13.9

WORKDIR /srv

# Only what the model needs at run time (its requirements.txt: mlflow, scikit-learn, skops), every package at
# the version uv.lock pins: `uv export` turns the lock into constraints, so nothing is resolved afresh. The
# requirements come before the model so that a new model version reuses this (large) layer.
COPY pyproject.toml uv.lock ./
COPY model/requirements.txt model/requirements.txt
RUN uv export --frozen --no-dev --no-hashes --no-emit-project -o constraints.txt \
 && uv pip install --system -r model/requirements.txt -c constraints.txt \
 && rm constraints.txt

COPY model/ model/

RUN useradd --create-home scorer
USER scorer

EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/ping', timeout=2)"]
CMD ["mlflow", "models", "serve", "-m", "/srv/model", "--env-manager", "local", "--host", "0.0.0.0", "--port", "8080"]
