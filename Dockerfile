# The Lambda image of authgate: AWS's Python 3.12 base image (with the runtime interface
# client) and the installed app. `cdk deploy` builds it from the repository root.
#
# The base is pinned to a dated tag so that a rebuild is reproducible; bump the tag to take
# the base image's security patches. The -x86_64 variant matches the function's
# architecture whatever machine builds it.
FROM public.ecr.aws/lambda/python:3.12.2026.06.13.12-x86_64 AS build

WORKDIR /build
# README.md* : the readme is optional metadata; the wildcard lets the build go on without it.
COPY pyproject.toml README.md* ./
COPY app ./app
# The package and its dependencies (not the test extras) into a folder of their own, then
# bytecode: /var/task is read-only at run time, so without .pyc files every cold start
# compiles in memory. unchecked-hash: the files never change after the build.
RUN pip install --no-cache-dir --target /opt/package . \
    && python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/package

# The final image gets the installed package only: no sources, no build/ or egg-info.
FROM public.ecr.aws/lambda/python:3.12.2026.06.13.12-x86_64

COPY --from=build /opt/package ${LAMBDA_TASK_ROOT}

CMD ["app.handler.handler"]
