#!/usr/bin/env python3
"""What `make test` can check of the container files without a Docker engine.

- The Dockerfile's build stage runs the commands the Makefile's `tools` and `build` targets run,
  so the image holds what CI builds and tests.
- The runtime stage is a slim Debian, runs as a non-root user, keeps data in the /data volume,
  exposes 3000 and checks /healthz; what it copies exists after `make build`.
- compose.yaml runs PostgreSQL and two Switchboard replicas sharing it and one master key.
"""
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
problems = []


def check(ok, message):
    print(("ok   " if ok else "FAIL ") + message)
    if not ok:
        problems.append(message)


def make_recipe(target):
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = lines.index(next(l for l in lines if l.startswith(f"{target}:")))
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


docker = (ROOT / "Dockerfile").read_text()
stages = re.split(r"^FROM ", docker, flags=re.M)[1:]
check(len(stages) == 2, "the Dockerfile has two stages (build, run)")
build, runtime = stages[0], stages[-1]
runs = " ".join(re.findall(r"^RUN (.*(?:\\\n.*)*)", build, flags=re.M))
at = -1
for target in ["tools", "build"]:
    for command in make_recipe(target):
        found = runs.find(command, at + 1)
        check(found > at, f"the build stage runs `make {target}`'s command, in make's order: {command}")
        at = max(at, found)

check(runtime.startswith("debian:") and "slim" in runtime.split()[0], "the runtime image is a slim Debian")
user = re.search(r"^USER (\S+)", runtime, flags=re.M)
check(bool(user) and user.group(1) not in ("root", "0"), "the runtime runs as a non-root user")
check(re.search(r"^VOLUME /data", runtime, flags=re.M) is not None, "data lives in the /data volume")
check("SWITCHBOARD_DATA_DIR=/data" in runtime, "the data folder is /data")
check(re.search(r"^EXPOSE 3000", runtime, flags=re.M) is not None, "port 3000 is exposed")
check("SWITCHBOARD_ADDR=0.0.0.0:3000" in runtime, "the server listens on 0.0.0.0:3000")
check(re.search(r"^HEALTHCHECK .*\n?.*/healthz", runtime, flags=re.M) is not None, "the health check calls /healthz")
for source in re.findall(r"^COPY --from=build /src/(\S+)", runtime, flags=re.M):
    check((ROOT / source).exists(), f"the image copies {source}, which `make build` produced")

compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
services = compose["services"]
replicas = {name: s for name, s in services.items() if s.get("image", "").startswith("switchboard")}
check(len(replicas) >= 2, f"compose runs two or more Switchboard replicas ({', '.join(replicas)})")
check(any(s.get("image", "").startswith("postgres") for s in services.values()), "compose runs PostgreSQL")
envs = [s.get("environment", {}) for s in replicas.values()]
check(all(e.get("DATABASE_URL", "").startswith("postgres://") for e in envs), "every replica uses PostgreSQL")
check(len({e.get("DATABASE_URL") for e in envs}) == 1, "the replicas share one database")
check(len({e.get("SWITCHBOARD_MASTER_KEY") for e in envs}) == 1 and envs[0].get("SWITCHBOARD_MASTER_KEY"),
      "the replicas share one master key")

if problems:
    print(f"\n{len(problems)} problem(s) in the container files")
    sys.exit(1)
print(f"\ntest result: ok. 1 passed; 0 failed (container files)")
