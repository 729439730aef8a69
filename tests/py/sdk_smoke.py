"""The Python docker SDK against a Docker-compatible daemon: the calls a user makes first.

Usage: sdk_smoke.py unix:///path/to.sock [--no-pull]
Prints one `name: value` line per step; the Rust test asserts on them. Any exception fails
the script (exit 1) with its traceback.
"""
import sys
import time

import docker


def main() -> None:
    client = docker.DockerClient(base_url=sys.argv[1], timeout=60)
    print("ping:", client.ping())
    if "--no-pull" not in sys.argv:
        img = client.images.pull("busybox", tag="latest")
        print("pulled:", img.tags)

    c = client.containers.run("busybox", "sh -c 'echo hello; sleep 30'", detach=True)
    print("id:", c.id)
    # The log line appears once the shell has run its echo.
    logs = b""
    for _ in range(100):
        logs = c.logs()
        if logs:
            break
        time.sleep(0.1)
    print("logs:", logs.decode().strip())
    c.reload()
    print("status:", c.status)
    r = c.exec_run("echo hi")
    print("exec_exit:", r.exit_code)
    print("exec_output:", r.output.decode().strip())
    c.kill()
    print("wait:", c.wait(timeout=30)["StatusCode"])
    c.remove()
    print("removed:", c.id not in [x.id for x in client.containers.list(all=True)])

    v = client.volumes.create("v1")
    print("volume:", v.name)
    out = client.containers.run(
        "busybox",
        ["sh", "-c", "echo from-volume > /data/f && cat /data/f"],
        volumes={"v1": {"bind": "/data", "mode": "rw"}},
        remove=True,
    )
    print("run_output:", out.decode().strip())
    print("volumes:", sorted(x.name for x in client.volumes.list()))
    client.volumes.get("v1").remove()
    print("left:", [x.name for x in client.containers.list(all=True)])


if __name__ == "__main__":
    main()
