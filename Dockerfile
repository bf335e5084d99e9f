# The bidserver image (CONTRACT §9): `docker build -t bidserver .` from the repository root.
#
# Three stages over one Debian base, so the same file builds anywhere Debian's mirror is
# reachable: `runtime` is Debian's Python and CA certificates only; `build` adds venv and
# pip and installs the project into /opt/venv; the final image is `runtime` plus that venv
# and a non-root user. No compiler, pip cache or apt list reaches the final image (every
# dependency has a wheel for Debian's CPython 3.11).
#
# Debian packages are not pinned to exact versions (hadolint DL3008): bookworm's point
# releases carry only security fixes, and an exact pin fails the build the day the mirror
# drops the old version. The base image's digest is what a deploy pins (deploy.yml pushes
# and deploys by digest).

FROM debian:bookworm-slim AS runtime
ENV LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb

FROM runtime AS build
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/venv
WORKDIR /src
# Dependencies first, from pyproject.toml alone, so a code change reuses this layer.
COPY pyproject.toml README.md ./
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt
COPY bidserver ./bidserver
COPY httpapi ./httpapi
COPY storage ./storage
COPY bench ./bench
# pip leaves with the build: the final image installs nothing at run time.
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps . \
    && /opt/venv/bin/python -m pip uninstall --yes --quiet pip

FROM runtime
RUN groupadd --system --gid 10001 bidserver \
    && useradd --system --uid 10001 --gid bidserver --no-log-init \
        --home-dir /var/lib/bidserver --create-home --shell /usr/sbin/nologin bidserver \
    && install -d -o bidserver -g bidserver -m 0700 /var/lib/bidserver/tmp
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    BIDSERVER_HOST=0.0.0.0 \
    BIDSERVER_DATA_DIR=/var/lib/bidserver \
    TMPDIR=/var/lib/bidserver/tmp
# The one writable place when the root file system is read-only (ECS). A runtime that mounts
# a fresh volume here (Fargate's bind mounts) copies this directory's owner and contents,
# so the non-root user can write to it.
VOLUME ["/var/lib/bidserver"]
USER 10001:10001
WORKDIR /var/lib/bidserver
# WebSocket gateway, REST sidecar, node-to-node (CONTRACT §1, §7).
EXPOSE 8765 8080 8766
# SIGTERM drains (CONTRACT §1): sockets closed with 1001, every accepted bid flushed, exit 0
# within 30 s. Give the runtime more than that before it kills: ECS stopTimeout is 45 s in
# deploy/terraform, and `docker stop --time 45` locally.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=45s --retries=3 \
    CMD ["python", "-m", "bidserver.healthcheck"]
ENTRYPOINT ["python", "-m", "bidserver.container"]
CMD ["serve"]
