"""A Modbus TCP meter for the connector tests, served by pymodbus (3.16).

Usage: python modbus_peer.py REGISTERS.json PORT

REGISTERS.json: {"unit": 1, "holding": [word, ...], "input": [word, ...]}; list index i is
protocol address i. Every read request received is printed to stdout as one JSON line
{"function": 3|4, "address": A, "count": N}, so a test can count the requests the poller sent.
Prints "ready" once the socket is listening.
"""

import asyncio
import json
import sys

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice


def block(words):
    # An empty block would make every address of the table invalid; the tests always fill both.
    return [SimData(0, values=list(words) or [0], datatype=DataType.REGISTERS)]


def trace(sending, pdu):
    if not sending and pdu.function_code in (3, 4):
        print(
            json.dumps(
                {"function": pdu.function_code, "address": pdu.address, "count": pdu.count}
            ),
            flush=True,
        )
    return pdu


async def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    port = int(sys.argv[2])
    bits = [SimData(0, values=[False], datatype=DataType.BITS)]
    device = SimDevice(
        id=spec["unit"],
        simdata=(bits, bits, block(spec["holding"]), block(spec["input"])),
    )
    server = ModbusTcpServer(device, address=("127.0.0.1", port), trace_pdu=trace)
    await server.serve_forever(background=True)
    print("ready", flush=True)
    await server.serving


asyncio.run(main())
