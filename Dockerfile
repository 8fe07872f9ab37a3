# memdevd: QEMU's memory-device subsystem over QMP, as a container.
#   docker build -t memdevd .
#   docker run --rm -v /run/memdevd:/run/memdevd memdevd \
#       -machine q35 -m 1G,slots=16,maxmem=64G -display none \
#       -qmp unix:/run/memdevd/qmp.sock,server=on,wait=off
# (-display none: without a display option QEMU, and memdevd, start a VNC
# server on localhost:5900 on a host without a GUI.)
FROM python:3.11-slim-bookworm

# The same steps tests/protocol/test_packaging.py mirrors in a fresh venv.
COPY pyproject.toml README.md /src/
COPY memdevd /src/memdevd
RUN python -m venv /opt/memdevd \
    && /opt/memdevd/bin/pip install --no-cache-dir /src \
    && rm -rf /src

ENV PATH=/opt/memdevd/bin:$PATH
VOLUME ["/run/memdevd"]
ENTRYPOINT ["memdevd"]
CMD ["-machine", "q35", "-m", "1G,slots=16,maxmem=64G", "-display", "none", "-qmp", "unix:/run/memdevd/qmp.sock,server=on,wait=off"]
