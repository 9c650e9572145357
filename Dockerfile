# pprl-hub and the agency node, from this repository (one image, two roles), in two
# stages: everything is built in the first (the C kernel, the virtual environment, htmx
# and Swagger UI from the npm registry), and the image that runs has no compiler.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc make git nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /app
RUN make setup && rm -rf .tools/npm

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 pprl
COPY --from=build /app /app
WORKDIR /app
RUN chown -R pprl /app
ENV PATH="/app/.venv/bin:${PATH}"
USER pprl
EXPOSE 8765
CMD ["pprl", "hub", "serve", "--host", "0.0.0.0", "--port", "8765"]
