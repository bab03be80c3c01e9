# ibdevserver: a Flask app under gunicorn, built in two stages.
#   build    wheels for every locked dependency and for the project, installed
#            into /opt/venv by a pip that stays behind in this stage
#   runtime  the base image plus /opt/venv: no compiler, pip, wheels or sources
#
# PYTHON_IMAGE may name any Debian-based image with python3 and its venv module,
# such as the one scripts/build-base-image makes where Docker Hub is out of reach.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# the build stage never runs as a container: it needs no HEALTHCHECK
# hadolint ignore=DL3057
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_WARN_SCRIPT_LOCATION=1
WORKDIR /src
# a pip of our own: some bases (Debian's python3) have none outside a venv
RUN python3 -m venv /opt/tools \
    && python3 -m venv --without-pip /opt/venv

# dependencies first, from the hash-checked lock files, so that a change to
# service/ rebuilds only the layers below
COPY requirements.lock requirements-build.lock ./
RUN /opt/tools/bin/pip install --require-hashes -r requirements-build.lock \
    && /opt/tools/bin/pip wheel --require-hashes --no-deps --wheel-dir /wheels -r requirements.lock \
    && /opt/tools/bin/pip --python /opt/venv/bin/python install --no-index --no-deps /wheels/*.whl \
    # the dependencies' own test suites and C sources are never run or built here
    && find /opt/venv -depth -type d \( -name tests -o -name testing \) -path "*/site-packages/*" \
       -exec rm -rf {} + \
    && find /opt/venv -type f \( -name "*.c" -o -name "*.h" -o -name "*.cpp" -o -name "*.hpp" \
       -o -name "*.pyx" -o -name "*.pxd" \) -delete

COPY pyproject.toml setup.cfg ./
COPY service ./service
RUN /opt/tools/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels/project . \
    && /opt/tools/bin/pip --python /opt/venv/bin/python install --no-index --find-links /wheels \
       /wheels/project/*.whl

FROM ${PYTHON_IMAGE} AS runtime
# set-user and set-group bits are a way back to root; nothing here needs them
RUN find / -xdev -type f -perm /6000 -exec chmod ug-s {} +
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# last, so that a new revision rebuilds nothing above
ARG SOURCE_REVISION=unknown
ENV IBDEVSERVER_SOURCE_REVISION=${SOURCE_REVISION}
LABEL org.opencontainers.image.title="ibdevserver" \
      org.opencontainers.image.revision="${SOURCE_REVISION}"
WORKDIR /opt/venv
USER 10001:10001
EXPOSE 9999
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-m", "service.healthcheck"]
# exec form: gunicorn itself is PID 1 and gets SIGTERM (a graceful stop)
CMD ["gunicorn", "-c", "python:service.gunicorn_conf"]
