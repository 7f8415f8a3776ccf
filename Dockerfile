# The Lambda image of authgate: AWS's Python 3.12 base image (with the runtime interface
# client) and the installed app. `cdk deploy` builds it from the repository root.
#
# The base is pinned to a dated tag so that a rebuild is reproducible; bump the tag to take
# the base image's security patches. The -x86_64 variant matches the function's
# architecture whatever machine builds it.
FROM public.ecr.aws/lambda/python:3.12.2026.06.13.12-x86_64 AS build

WORKDIR /build
# The dependencies first, at the versions the tests pass with (constraints.txt), into a
# folder of their own: this layer is rebuilt when they change, not on every change to app/.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > requirements.txt \
    && pip install --no-cache-dir --target /opt/package --constraint constraints.txt --requirement requirements.txt

# Then the package itself (not the test extras), and bytecode for all: /var/task is
# read-only at run time, so without .pyc files every cold start compiles in memory.
# unchecked-hash: the files never change after the build.
# README.md* : the readme is optional metadata; the wildcard lets the build go on without it.
COPY README.md* ./
COPY app ./app
RUN pip install --no-cache-dir --no-deps --target /opt/package . \
    && python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/package

# The final image gets the installed package only: no sources, no build/ or egg-info.
FROM public.ecr.aws/lambda/python:3.12.2026.06.13.12-x86_64

COPY --from=build /opt/package ${LAMBDA_TASK_ROOT}

CMD ["app.handler.handler"]
