# ibdevserver: a Flask app under gunicorn, built in stages with BuildKit (Docker 23 or
# newer, or the buildx plugin: the runtime stage mounts the build's).
#   build    wheels for every locked dependency, then for the project; the runtime's
#            root (the interpreter, its standard library and the shared libraries
#            they load: image/assemble_root.py); the SBOM, OS packages included
#   runtime  FROM scratch: that root, then the dependencies' wheels installed in one
#            layer, the standard modules the server loads compiled in the next, and
#            the project's wheel in a later one, by the build stage's pip and Python
#            through read-only mounts. No shell, no package manager, no pip, no compiler
#   debug    the runtime and busybox, for `docker exec -it ... sh` (docs/image.md)
# `docker build .` and `docker compose up --build` give the runtime: the last stage.
#
# PYTHON_IMAGE may name any Debian-based image with python3 and its venv module,
# such as the one scripts/build-base-image makes where Docker Hub is out of reach.
ARG PYTHON_IMAGE=python:3.13-slim-trixie

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
# what installs the wheels and compiles the standard modules in the shell-less
# runtime, beside the pip it runs
COPY image/install_wheels.py image/compile_stdlib.py /opt/tools/

# dependencies first, from the hash-checked lock, so that a change to service/
# rebuilds only what follows; the cache mount keeps the downloads when the lock
# changes. /opt/venv here is the runtime's environment, made the same way, for the SBOM.
COPY requirements.lock ./
RUN --mount=type=cache,target=/root/.cache/pip \
    /opt/tools/bin/pip wheel --require-hashes --no-deps --wheel-dir /wheels/deps -r requirements.lock \
    && python3 -m venv --without-pip /opt/venv \
    && /opt/tools/bin/pip --python /opt/venv/bin/python install --no-cache-dir --no-index \
       --no-deps /wheels/deps/*.whl

# the runtime's root: what the interpreter, its library and the dependencies'
# extension modules load, found by asking the interpreter, the loader and dpkg
COPY image ./image
RUN python3 -m image.assemble_root /rootfs /opt/venv

COPY pyproject.toml setup.cfg ./
COPY service ./service
RUN /opt/tools/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation \
       --wheel-dir /wheels/project . \
    && /opt/tools/bin/pip --python /opt/venv/bin/python install --no-cache-dir --no-index \
       --no-deps /wheels/project/*.whl \
    && mkdir /sbom \
    && /opt/tools/bin/cyclonedx-py environment --output-reproducible --of JSON \
       -o /sbom/ibdevserver.cdx.json /opt/venv/bin/python \
    && /opt/tools/bin/python -m image.sbom /sbom/ibdevserver.cdx.json ibdevserver \
    && python3 -m image.os_packages /rootfs /sbom/ibdevserver.cdx.json

FROM scratch AS runtime
COPY --from=build /rootfs /
ENV PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# The build's pip and wheels are mounted read-only on /mnt and /srv, which the root
# has, empty: a mount point it lacked would stay in the layer. With no shell, each RUN
# is exec form, and image/install_wheels.py does what `*.whl` and `find` did.
# The dependencies, one layer, without .pyc; their own test suites and C sources are
# never run or built here.
RUN --mount=type=bind,from=build,source=/opt/tools,target=/mnt \
    --mount=type=bind,from=build,source=/wheels/deps,target=/srv \
    ["/mnt/bin/python", "/mnt/install_wheels.py", "--no-compile", "/srv"]
# the standard and dependency modules the server loads, compiled: the root is read-only,
# so each of its processes would compile them again at every start; the rest stays
# source alone (image/compile_stdlib.py)
RUN --mount=type=bind,from=build,source=/opt/tools,target=/mnt \
    ["/opt/venv/bin/python", "/mnt/compile_stdlib.py"]
# the project, a layer of its own: a change to service/ re-ships only this one
RUN --mount=type=bind,from=build,source=/opt/tools,target=/mnt \
    --mount=type=bind,from=build,source=/wheels/project,target=/srv \
    ["/mnt/bin/python", "/mnt/install_wheels.py", "/srv"]
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

# busybox, for the debug target only: Debian's static build, one file
# hadolint ignore=DL3057
FROM ${PYTHON_IMAGE} AS busybox
# the base's own suite decides the version, as it does for every package of the base
# hadolint ignore=DL3008
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends busybox-static \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir /busybox && cp /bin/busybox /busybox/ \
    && /busybox/busybox --install -s /busybox

# docker build --target debug: the runtime with a shell, as distroless' :debug is;
# /posture's no-shell check fails here, as it should
FROM runtime AS debug
# the applets are links to /busybox/busybox, made in the busybox stage
COPY --from=busybox /busybox /busybox
ENV PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin:/busybox

# the default target, last: the shell-less runtime
FROM runtime
