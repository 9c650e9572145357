# pprl-hub and the agency node, from this repository (one image, two roles).
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc make git \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 pprl
WORKDIR /app
COPY . /app
RUN make setup && chown -R pprl /app
ENV PATH="/app/.venv/bin:${PATH}"
USER pprl
EXPOSE 8765
CMD ["pprl", "hub", "serve", "--host", "0.0.0.0", "--port", "8765"]
