"""An OPC UA server for the connectors-opcua tests, served by asyncua (2.1).

Usage: python opcua_server.py NODES.json PORT

NODES.json: [{"id": "Boiler.FuelFlow", "type": "Double", "value": 1.5}, ...]; each entry is
a variable with the string node id `ns=2;s=<id>` (namespace 2 is the test's own), of the
OPC UA built-in type `type` (Double, Float, Int32, UInt16, ...). The endpoint is
opc.tcp://127.0.0.1:PORT/thermaliq/ with SecurityPolicy None and anonymous users only.

Commands on stdin, one per line, each answered "ok" (or "error: ...") on stdout:
  set ID VALUE [QUALITY [SOURCE_US [SERVER_US]]]
    writes VALUE with status QUALITY (good | uncertain | bad, default good) and the given
    source and server timestamps (µs since 1970; "-" or absent: none for the source, now for
    the server).
Prints "ready NS" (the namespace index) once the endpoint is listening.
"""

import asyncio
import json
import sys
from datetime import datetime, timedelta, timezone

from asyncua import Server, ua

STATUS = {
    "good": ua.StatusCodes.Good,
    "uncertain": ua.StatusCodes.Uncertain,
    "bad": ua.StatusCodes.Bad,
}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def timestamp(text):
    if text is None or text == "-":
        return None
    return EPOCH + timedelta(microseconds=int(text))


def typed(value, type_name):
    vtype = getattr(ua.VariantType, type_name)
    if type_name in ("Double", "Float"):
        return ua.Variant(float(value), vtype)
    return ua.Variant(int(value), vtype)


async def apply(server, ns, types, line):
    parts = line.split()
    if len(parts) < 3 or parts[0] != "set":
        return f"error: unknown command {line!r}"
    node_id, value = parts[1], parts[2]
    quality = parts[3] if len(parts) > 3 else "good"
    source = timestamp(parts[4] if len(parts) > 4 else None)
    server_time = timestamp(parts[5] if len(parts) > 5 else None) or datetime.now(timezone.utc)
    data = ua.DataValue(
        typed(value, types[node_id]),
        StatusCode=ua.StatusCode(STATUS[quality]),
        SourceTimestamp=source,
        ServerTimestamp=server_time,
    )
    await server.write_attribute_value(ua.NodeId(node_id, ns), data)
    return "ok"


async def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        nodes = json.load(f)
    port = int(sys.argv[2])
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/thermaliq/")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    ns = await server.register_namespace("urn:thermaliq:test-peer")
    boiler = await server.nodes.objects.add_object(ns, "Boiler")
    types = {}
    for n in nodes:
        types[n["id"]] = n["type"]
        await boiler.add_variable(ua.NodeId(n["id"], ns), n["id"], typed(n["value"], n["type"]))
    loop = asyncio.get_running_loop()
    async with server:
        print(f"ready {ns}", flush=True)
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            if line.strip():
                print(await apply(server, ns, types, line.strip()), flush=True)


asyncio.run(main())
