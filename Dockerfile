# The facecast daemon on the CPU (ONNX Runtime's CPU build): a plain `pip install` of the wheel, no torch.
#   docker build -t facecast .
#   docker run --rm -p 127.0.0.1:50051:50051 -e FACECAST_TOKEN=change-me facecast
# The CUDA variant is Dockerfile.cuda; docs/DEPLOY.md has both.
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY core ./core
RUN pip wheel --no-cache-dir --no-deps -w /wheels .

FROM python:3.11-slim
# espeak-ng: pronunciations of transcripts in other languages than English (loaded with ctypes)
RUN apt-get update && apt-get install -y --no-install-recommends libespeak-ng1 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=wheel /wheels /wheels
RUN pip install --no-cache-dir /wheels/facecast-*.whl && rm -rf /wheels \
    && useradd --create-home --uid 10001 facecast
USER facecast
EXPOSE 50051
# the container's port is published by `docker run -p`; set FACECAST_TOKEN (or --token) whenever it is
# reachable from other machines
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s \
    CMD python -c "from facecast.client import Client; import sys; sys.exit(Client('127.0.0.1:50051', timeout=3).health() != 'SERVING')"
ENTRYPOINT ["facecast", "serve", "--host", "0.0.0.0", "--port", "50051"]
