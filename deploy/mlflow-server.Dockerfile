# The tracking server of compose.yaml: MLflow's server with llmops' trace-batch endpoint (`--app-name llmops`).
# llmops is installed without its dependencies: the endpoint needs only MLflow (and psycopg, boto3 for the stores).
FROM python:3.11-slim
RUN pip install --no-cache-dir "mlflow==3.17.2" "psycopg[binary]>=3.3.9" "boto3>=1.34"
COPY pyproject.toml README.md /src/
COPY llmops /src/llmops
COPY churn /src/churn
RUN pip install --no-cache-dir --no-deps /src && rm -rf /src
