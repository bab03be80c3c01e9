# ibdevserver: a Flask app under gunicorn, built in two stages with BuildKit
# (Docker 23 or newer, or the buildx plugin: the runtime stage mounts the build's).
#   build    wheels for every locked dependency, then for the project; the SBOM
#   runtime  the base image; the dependencies' wheels installed in one layer, the
#            project's in a later one, by the build stage's pip through read-only
#            mounts: no compiler, pip, wheels or sources in any layer
#
# PYTHON_IMAGE may name any Debian-based image with python3 and its venv module,
# such as the one scripts/build-base-image makes where Docker Hub is out of reach.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# the build stage never runs as a container: it needs no HEALTHCHECK
# hadolint ignore=DL3057
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_WARN_SCRIPT_LOCATION=1
WORKDIR /src
# a pip of our own: some bases (Debian's python3) have none outside a venv
RUN python3 -m venv /opt/tools
COPY requirements-build.lock ./
RUN --mount=type=cache,target=/root/.cache/pip \
    /opt/tools/bin/pip install --require-hashes -r requirements-build.lock

# dependencies first, from the hash-checked lock, so that a change to service/
# rebuilds only what follows; the cache mount keeps the downloads when the lock
# changes. /opt/venv here is the runtime's environment, made the same way, for the SBOM.
COPY requirements.lock ./
RUN --mount=type=cache,target=/root/.cache/pip \
    /opt/tools/bin/pip wheel --require-hashes --no-deps --wheel-dir /wheels/deps -r requirements.lock \
    && python3 -m venv --without-pip /opt/venv \
    && /opt/tools/bin/pip --python /opt/venv/bin/python install --no-cache-dir --no-index \
       --no-deps /wheels/deps/*.whl

COPY pyproject.toml setup.cfg ./
COPY service ./service
RUN /opt/tools/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation \
       --wheel-dir /wheels/project . \
    && /opt/tools/bin/pip --python /opt/venv/bin/python install --no-cache-dir --no-index \
       --no-deps /wheels/project/*.whl \
    && mkdir /sbom \
    && /opt/tools/bin/cyclonedx-py environment --output-reproducible --of JSON \
       -o /sbom/ibdevserver.cdx.json /opt/venv/bin/python

FROM ${PYTHON_IMAGE} AS runtime
# set-user and set-group bits are a way back to root; nothing here needs them
RUN find / -xdev -type f -perm /6000 -exec chmod ug-s {} +
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# The build's pip and wheels are mounted read-only on /mnt and /srv, which every
# Debian base has, empty: a mount point the base lacks would stay in the layer.
# The dependencies, one layer; their own test suites and C sources are never run
# or built here.
RUN --mount=type=bind,from=build,source=/opt/tools,target=/mnt \
    --mount=type=bind,from=build,source=/wheels/deps,target=/srv \
    python3 -m venv --without-pip /opt/venv \
    && /mnt/bin/python -m pip --python /opt/venv/bin/python install --no-cache-dir --no-index \
       --no-deps /srv/*.whl \
    && find /opt/venv -depth -type d \( -name tests -o -name testing \) -path "*/site-packages/*" \
       -exec rm -rf {} + \
    && find /opt/venv -type f \( -name "*.c" -o -name "*.h" -o -name "*.cpp" -o -name "*.hpp" \
       -o -name "*.pyx" -o -name "*.pxd" \) -delete
# the project, a layer of its own: a change to service/ re-ships only this one
RUN --mount=type=bind,from=build,source=/opt/tools,target=/mnt \
    --mount=type=bind,from=build,source=/wheels/project,target=/srv \
    /mnt/bin/python -m pip --python /opt/venv/bin/python install --no-cache-dir --no-index \
       --no-deps /srv/*.whl
COPY --from=build /sbom /opt/sbom
# last, so that a new version or revision rebuilds nothing above; VERSION is
# setup.cfg's (integration/test_image.py holds them equal)
ARG VERSION=0.2.0
ARG SOURCE_REVISION=unknown
ARG SOURCE_URL=""
ENV IBDEVSERVER_SOURCE_REVISION=${SOURCE_REVISION}
LABEL org.opencontainers.image.title="ibdevserver" \
      org.opencontainers.image.description="Serves /proc/1/status over HTTP: what the first process of a container is" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}" \
      io.github.ibdevserver.sbom="/opt/sbom/ibdevserver.cdx.json"
WORKDIR /opt/venv
USER 10001:10001
EXPOSE 9999
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-m", "service.healthcheck"]
# exec form: gunicorn itself is PID 1 and gets SIGTERM (a graceful stop)
CMD ["gunicorn", "-c", "python:service.gunicorn_conf"]
