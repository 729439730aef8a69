"""The Python docker SDK's network calls against a Docker-compatible daemon.

Usage: sdk_network.py unix:///path/to.sock HOST_PORT
Prints one `name: value` line per step; the Rust test (docker_sdk.rs) asserts on them. Traffic
goes only to 127.0.0.1 and to containers. Any exception fails the script (exit 1).
"""
import socket
import sys
import time

import docker

HTTPD = "mkdir -p /www && echo sdk-served > /www/index.html && exec httpd -f -p 80 -h /www"


def fetch(port: int) -> str:
    for _ in range(50):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            body = data.split(b"\r\n\r\n", 1)[-1].decode().strip()
            if body:
                return body
        except OSError:
            pass
        time.sleep(0.2)
    return "<nothing>"


def main() -> None:
    client = docker.DockerClient(base_url=sys.argv[1], timeout=60)
    port = int(sys.argv[2])
    net = client.networks.create("sdknet", driver="bridge", labels={"by": "sdk"})
    print("network:", net.name)
    print("network_id_len:", len(net.id))
    web = client.containers.run(
        "busybox", ["sh", "-c", HTTPD], name="sdkweb", detach=True,
        ports={"80/tcp": ("127.0.0.1", port)},
    )
    web.reload()
    b = web.ports["80/tcp"][0]
    print("binding:", f"{b['HostIp']}:{b['HostPort']}")
    print("body:", fetch(port))
    net.connect(web, aliases=["www"])
    net.reload()
    print("members:", sorted(c.name for c in net.containers))
    out = client.containers.run(
        "busybox", ["timeout", "5", "wget", "-qO-", "http://www/"], network="sdknet", remove=True,
    )
    print("by_alias:", out.decode().strip())
    net.disconnect(web)
    net.reload()
    print("members_after:", sorted(c.name for c in net.containers))
    web.remove(force=True)
    net.remove()
    print("networks:", sorted(n.name for n in client.networks.list()))


if __name__ == "__main__":
    main()
