"""A fake TWS / IB Gateway on 127.0.0.1 that speaks the TWS API socket protocol.

Enough of it for the real ``ib_async`` (2.1.0) to trade against: the handshake
(server version 178), ``nextValidId`` and managed accounts, ``placeOrder`` answered by
``openOrder`` / ``orderStatus`` / ``execDetails`` / ``commissionReport``, open and
completed orders, executions, positions, the account summary, contract details,
cancels, market data snapshots, ``reqIds`` and the error messages IB sends.

Like TWS it binds an order to the client id that placed it, refuses a client id that
is in use (error 326), remembers the highest order id of each client across
connections (``nextValidId``), does not dedupe anything by ``orderRef``, and keeps
executions only until :meth:`FakeTws.midnight`.

The knobs (the harness's abilities, and the faults of issue 13): fill in parts, reject
the next order, lose the next reply, hide the next order from look-ups, drop every
socket (a Gateway restart), trade while no client is connected, duplicate and reorder
executions, hold commission reports back, send 1100 / 1101 / 1102, count messages per
second (IB's pacing limit is 50).
"""

from __future__ import annotations

import contextlib
import itertools
import random
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from tests.brokers.ibkr import wire
from tests.brokers.ibkr.wire import FakeContract, OrderView

ACCOUNT = "DU7654321"
CONTRACTS = {
    "AAPL": FakeContract(265598, "AAPL"),
    "MSFT": FakeContract(272093, "MSFT"),
    "ESZ6": FakeContract(
        495512563, "ES", "FUT", "CME", min_tick=Decimal("0.25"), multiplier="50", expiry="20261218"
    ),
    "EURUSD": FakeContract(12087792, "EUR", "CASH", "IDEALPRO", min_tick=Decimal("0.00005")),
}
PRICES = {
    "AAPL": Decimal("100"),
    "MSFT": Decimal("250"),
    "ES": Decimal("6000"),
    "EUR": Decimal("1.1"),
}
COMMISSION_PER_SHARE = Decimal("0.005")
COMMISSION_MIN = Decimal("1.00")
DONE = ("Filled", "Cancelled", "ApiCancelled", "Inactive")


@dataclass(slots=True)
class FakeOrder:
    view: OrderView
    executions: list[tuple[str, Decimal, Decimal, str]] = field(default_factory=list)
    parts: int = 1
    hidden_until: float = 0.0
    race_cancel: bool = False
    commission: dict[str, Decimal] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, int]:
        return (self.view.client_id, self.view.order_id)

    @property
    def leaves(self) -> Decimal:
        return self.view.qty - self.view.filled

    @property
    def avg(self) -> Decimal:
        if not self.view.filled:
            return Decimal(0)
        return sum((q * p for _, q, p, _ in self.executions), Decimal(0)) / self.view.filled

    @property
    def done(self) -> bool:
        return self.view.status in DONE


class _Conn:
    """One API client connection: a reader thread, writes under a lock."""

    def __init__(self, tws: FakeTws, sock: socket.socket) -> None:
        self.tws = tws
        self.sock = sock
        self.client_id = -1
        self.lock = threading.Lock()
        self.alive = True
        self.sent_at: deque[float] = deque()

    def send(self, fields: list[object]) -> None:
        data = wire.frame(fields)
        with self.lock:
            if not self.alive:
                return
            try:
                self.sock.sendall(data)
            except OSError:
                self.alive = False

    def close(self) -> None:
        with self.lock:
            self.alive = False
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def read_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("peer closed")
            data += chunk
        return data

    def serve(self) -> None:
        try:
            head = self.read_exact(4)
            if head != b"API\0":
                return
            self.read_exact(struct.unpack(">I", self.read_exact(4))[0])  # "v157..178"
            now = datetime.now(UTC).strftime("%Y%m%d %H:%M:%S UTC")
            self.send([wire.SERVER_VERSION, now])
            while True:
                size = struct.unpack(">I", self.read_exact(4))[0]
                fields = wire.split(self.read_exact(size))
                self._pace()
                if not self.tws.handle(self, fields):
                    return
        except (ConnectionError, OSError):
            pass
        finally:
            self.tws.gone(self)
            self.close()

    def _pace(self) -> None:
        now = time.monotonic()
        self.sent_at.append(now)
        while self.sent_at and now - self.sent_at[0] > 1.0:
            self.sent_at.popleft()
        if len(self.sent_at) > self.tws.pacing_limit:
            self.tws.pacing_violations += 1


class FakeTws:
    """The fake; ``start()`` it, connect ``ib_async`` to :attr:`port`, ``stop()`` it."""

    def __init__(self, account: str = ACCOUNT) -> None:
        self.account = account
        self.lock = threading.RLock()
        self.orders: dict[tuple[int, int], FakeOrder] = {}
        self.next_valid: dict[int, int] = {}
        self.positions: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
        self.cash = Decimal("1000000")
        self.prices = dict(PRICES)
        self.conns: dict[int, _Conn] = {}
        self._perm = itertools.count(1_000_001)
        self._exec = itertools.count(1)
        self._listener: socket.socket | None = None
        self.port = 0
        self.accepting = True
        self.pacing_limit = 50
        self.pacing_violations = 0
        self.received: list[list[str]] = []
        # knobs
        self.parts_next = 1
        self.reject_next: str | None = None
        self.lose_next = False
        self.hide_next_s = 0.0
        self.race_next = False
        self.duplicate = False
        self.reorder = False
        self.hold_commissions = False
        self.held: list[tuple[str, Decimal]] = []
        self.fill_market = True
        #: every order fills in 1, 2 or 3 parts, drawn from this (the crash sweep)
        self.random_parts: random.Random | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> FakeTws:
        listener = socket.create_server(("127.0.0.1", 0))
        self._listener = listener
        self.port = listener.getsockname()[1]
        threading.Thread(target=self._accept, name="fake-tws", daemon=True).start()
        return self

    def stop(self) -> None:
        self.refuse()
        self.drop_all()

    def refuse(self) -> None:
        """Stop listening: a connection attempt is refused at once (TWS is down)."""
        if self._listener is not None:
            # shutdown wakes the thread blocked in accept(): a bare close() would not
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None

    def resume(self) -> None:
        """Listen again on the same port (TWS is back)."""
        if self._listener is None:
            self._listener = socket.create_server(("127.0.0.1", self.port))
            threading.Thread(target=self._accept, name="fake-tws", daemon=True).start()

    def _accept(self) -> None:
        listener = self._listener
        assert listener is not None
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            if not self.accepting:
                sock.close()
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Conn(self, sock)
            threading.Thread(target=conn.serve, name="fake-tws-conn", daemon=True).start()

    def gone(self, conn: _Conn) -> None:
        with self.lock:
            if self.conns.get(conn.client_id) is conn:
                del self.conns[conn.client_id]

    def drop_all(self) -> None:
        """Every API socket closed, as a TWS or Gateway restart closes them."""
        with self.lock:
            conns = list(self.conns.values())
            self.conns.clear()
        for conn in conns:
            conn.close()

    def connected(self, client_id: int) -> bool:
        with self.lock:
            return client_id in self.conns

    def midnight(self) -> None:
        """IB keeps executions only since midnight: forget them (orders stay)."""
        with self.lock:
            for order in self.orders.values():
                order.executions.clear()

    def broadcast(self, code: int, text: str) -> None:
        """A system message to every client (1100, 1101, 1102, 2104 …)."""
        for conn in self._all():
            conn.send(wire.error(-1, code, text))

    def _all(self) -> list[_Conn]:
        with self.lock:
            return list(self.conns.values())

    # ------------------------------------------------------------ requests

    def handle(self, conn: _Conn, f: list[str]) -> bool:
        self.received.append(f)
        msg = int(f[0])
        if msg == 71:  # startApi
            return self._start_api(conn, int(f[2]))
        handlers: dict[int, Callable[[_Conn, list[str]], None]] = {
            3: self._place,
            4: self._cancel,
            5: self._open_orders,
            7: self._executions,
            8: self._ids,
            9: self._contract_details,
            1: self._mkt_data,
            61: self._positions,
            62: self._account_summary,
            99: self._completed,
            49: lambda c, _: c.send([49, 1, int(time.time())]),
        }
        handler = handlers.get(msg)
        if handler is not None:
            with self.lock:
                handler(conn, f)
        return True

    def _start_api(self, conn: _Conn, client_id: int) -> bool:
        with self.lock:
            if client_id in self.conns:
                conn.send(
                    wire.error(
                        -1,
                        326,
                        "Unable to connect as the client id is already in use. "
                        "Retry with a unique client id.",
                    )
                )
                return False
            conn.client_id = client_id
            self.conns[client_id] = conn
            next_id = self.next_valid.setdefault(client_id, 1)
        conn.send([9, 1, next_id])
        conn.send([15, 1, self.account])
        conn.send(wire.error(-1, 2104, "Market data farm connection is OK:usfarm"))
        return True

    def _ids(self, conn: _Conn, f: list[str]) -> None:
        conn.send([9, 1, self.next_valid.get(conn.client_id, 1)])

    def _contract(self, symbol: str, sec_type: str) -> FakeContract | None:
        for contract in CONTRACTS.values():
            if contract.symbol == symbol and (not sec_type or contract.sec_type == sec_type):
                return contract
        return None

    def _place(self, conn: _Conn, f: list[str]) -> None:
        order_id = int(f[1])
        cid = conn.client_id
        self.next_valid[cid] = max(self.next_valid.get(cid, 1), order_id + 1)
        contract = self._contract(f[3], f[4])
        existing = self.orders.get((cid, order_id))
        if existing is not None:
            self._modify(conn, existing, f)
            return
        if contract is None:
            conn.send(wire.error(order_id, 200, "No security definition has been found"))
            return
        lmt = Decimal(f[19]) if f[19] else None
        aux = Decimal(f[20]) if f[20] else None
        order = FakeOrder(
            OrderView(
                order_id=order_id,
                client_id=cid,
                perm_id=next(self._perm),
                contract=contract,
                action=f[16],
                qty=Decimal(f[17]),
                order_type=f[18],
                lmt=lmt,
                aux=aux,
                tif=f[21],
                oca_group=f[22],
                account=f[23] or self.account,
                order_ref=f[26],
                parent_id=int(f[28] or 0),
                status="PreSubmitted",
                filled=Decimal(0),
                oca_type=int(f[_OCA_TYPE] or 0) if len(f) > _OCA_TYPE else 0,
                display_size=int(f[_DISPLAY_SIZE] or 0) if len(f) > _DISPLAY_SIZE else 0,
            ),
            parts=self.parts_next
            if self.random_parts is None
            else self.random_parts.choice((1, 2, 3)),
        )
        self.parts_next = 1
        if self.hide_next_s:
            order.hidden_until = time.monotonic() + self.hide_next_s
            self.hide_next_s = 0.0
        order.race_cancel, self.race_next = self.race_next, False
        silent, self.lose_next = self.lose_next, False
        self.orders[order.key] = order
        if self.reject_next is not None:
            reason, self.reject_next = self.reject_next, None
            order.view.status = "Inactive"
            if not silent:
                conn.send(wire.error(order_id, 201, f"Order rejected - reason:{reason}"))
            return
        order.view.status = "Submitted"
        if not silent:
            self._report(order, conn)
        if self._marketable(order) and not order.view.parent_id:
            self._fill(order, order.leaves, silent=silent)

    def _modify(self, conn: _Conn, order: FakeOrder, f: list[str]) -> None:
        if order.done:
            conn.send(wire.error(order.view.order_id, 104, "Cannot modify a filled order."))
            return
        order.view.qty = Decimal(f[17])
        order.view.lmt = Decimal(f[19]) if f[19] else None
        order.view.aux = Decimal(f[20]) if f[20] else None
        self._report(order, conn)
        if self._marketable(order):
            self._fill(order, order.leaves)

    def _marketable(self, order: FakeOrder) -> bool:
        v = order.view
        price = self.prices[v.contract.symbol]
        if v.order_type == "MKT":
            return self.fill_market
        if v.order_type == "LMT" and v.lmt is not None:
            return v.lmt >= price if v.action == "BUY" else v.lmt <= price
        return False

    def _cancel(self, conn: _Conn, f: list[str]) -> None:
        order = self.orders.get((conn.client_id, int(f[2])))
        if order is None or self._hidden(order):
            conn.send(
                wire.error(
                    int(f[2]), 10147, f"OrderId {f[2]} that needs to be cancelled is not found."
                )
            )
            return
        if order.done:
            conn.send(
                wire.error(
                    order.view.order_id,
                    10148,
                    f"OrderId {f[2]} that needs to be cancelled cannot be cancelled, "
                    f"state: {order.view.status}.",
                )
            )
            return
        if order.race_cancel:
            order.view.status = "PendingCancel"
            self._report(order, conn)
            return  # the fill crosses the cancel: trade() fills it
        order.view.status = "Cancelled"
        self._report(order, conn)
        conn.send(wire.error(order.view.order_id, 202, "Order Canceled - reason:"))
        self._cancel_oca(order)

    def _cancel_oca(self, filled: FakeOrder) -> None:
        """OCA: the others of the group end; a parent's end cancels its children."""
        for other in self.orders.values():
            v = other.view
            same_group = filled.view.oca_group and v.oca_group == filled.view.oca_group
            if other is filled or other.done or not same_group:
                continue
            v.status = "Cancelled"
            self._report(other, self.conns.get(v.client_id))

    def _hidden(self, order: FakeOrder) -> bool:
        return order.hidden_until > time.monotonic()

    def _mine(self, conn: _Conn) -> list[FakeOrder]:
        return [
            o
            for o in self.orders.values()
            if o.view.client_id in (conn.client_id, 0) and not self._hidden(o)
        ]

    def _open_orders(self, conn: _Conn, f: list[str]) -> None:
        for order in self._mine(conn):
            if not order.done:
                self._report(order, conn)
        conn.send([53, 1])

    def _completed(self, conn: _Conn, f: list[str]) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%d %H:%M:%S UTC")
        for order in self._mine(conn):
            if order.done:
                conn.send(wire.completed_order(order.view, stamp))
        conn.send([102])

    def _executions(self, conn: _Conn, f: list[str]) -> None:
        req_id = int(f[2])
        for order in self._mine(conn):
            self._send_execs(conn, order, order.executions, req_id)
            for exec_id, *_ in order.executions:
                if exec_id in order.commission:
                    conn.send(wire.commission_report(exec_id, order.commission[exec_id], "USD"))
        conn.send([55, 1, req_id])

    def _positions(self, conn: _Conn, f: list[str]) -> None:
        for (account, symbol), (qty, cost) in self.positions.items():
            contract = self._contract(symbol, "")
            if contract is not None:
                conn.send(wire.position(account, contract, qty, cost))
        conn.send([62, 1])

    def _account_summary(self, conn: _Conn, f: list[str]) -> None:
        req_id = int(f[2])
        value = sum((q * self.prices[s] for (_, s), (q, _) in self.positions.items()), Decimal(0))
        for tag, amount in (
            ("TotalCashValue", self.cash),
            ("NetLiquidation", self.cash + value),
            ("BuyingPower", (self.cash + value) * 4),
        ):
            conn.send([63, 1, req_id, self.account, tag, amount, "USD"])
        conn.send([63, 1, req_id, self.account, "AccountType", "INDIVIDUAL", ""])
        conn.send([64, 1, req_id])

    def _contract_details(self, conn: _Conn, f: list[str]) -> None:
        req_id = int(f[2])
        contract = self._contract(f[4], f[5])
        if contract is None:
            conn.send(
                wire.error(req_id, 200, "No security definition has been found for the request")
            )
            return
        conn.send(wire.contract_details(req_id, contract))
        conn.send([52, 1, req_id])

    def _mkt_data(self, conn: _Conn, f: list[str]) -> None:
        req_id = int(f[2])
        contract = self._contract(f[4], f[5])
        if contract is None:
            conn.send(wire.error(req_id, 200, "No security definition has been found"))
            return
        price = self.prices[contract.symbol]
        tick = contract.min_tick
        for kind, px in ((1, price - tick), (2, price + tick), (4, price)):
            conn.send([1, 6, req_id, kind, px, 100, 0])
        conn.send([57, 1, req_id])

    # -------------------------------------------------------------- fills

    def _report(self, order: FakeOrder, conn: _Conn | None) -> None:
        if conn is None:
            return
        v = order.view
        conn.send(wire.open_order(v))
        last = order.executions[-1][2] if order.executions else Decimal(0)
        conn.send(
            wire.order_status(
                v.order_id,
                v.status,
                v.filled,
                order.leaves,
                order.avg,
                v.perm_id,
                v.parent_id,
                last,
                v.client_id,
            )
        )

    def _send_execs(
        self,
        conn: _Conn,
        order: FakeOrder,
        execs: list[tuple[str, Decimal, Decimal, str]],
        req_id: int,
    ) -> None:
        cum = Decimal(0)
        rows = []
        for exec_id, qty, px, stamp in order.executions:
            cum += qty
            if any(e[0] == exec_id for e in execs):
                rows.append((exec_id, qty, px, stamp, cum))
        side = "BOT" if order.view.action == "BUY" else "SLD"
        for exec_id, qty, px, stamp, cum_qty in rows:
            avg = order.avg
            conn.send(
                wire.exec_details(req_id, order.view, exec_id, stamp, side, qty, px, cum_qty, avg)
            )

    def trade(self, client_id: int, order_id: int, *, silent: bool = False) -> None:
        """The market trades a resting order: all of it (in its parts); ``silent``:
        the reports are lost (IB's side of a 1101, "restored, data lost")."""
        with self.lock:
            order = self.orders[(client_id, order_id)]
            self._fill(order, order.leaves, silent=silent)

    def tell(self, order: FakeOrder, code: int, text: str) -> None:
        """An error or warning about ``order`` to the client that placed it."""
        with self.lock:
            warning = code in (105, 110, 165, 321, 329, 399, 404, 434, 492, 10167)
            if not warning and not 2100 <= code < 2200:
                order.view.status = "Cancelled"  # an error ends the order at IB
            conn = self.conns.get(order.view.client_id)
        if conn is not None:
            conn.send(wire.error(order.view.order_id, code, text))

    def _fill(self, order: FakeOrder, qty: Decimal, *, silent: bool = False) -> None:
        v = order.view
        price = self.prices[v.contract.symbol]
        if v.order_type == "LMT" and v.lmt is not None:
            price = v.lmt
        parts = max(order.parts, 1)
        sizes = [qty // parts] * parts
        sizes[-1] += qty - sum(sizes)
        new = []
        for size in sizes:
            if size <= 0:
                continue
            exec_id = f"0000e0d5.{next(self._exec):08x}.01.01"
            stamp = datetime.now(UTC).strftime("%Y%m%d %H:%M:%S UTC")
            order.executions.append((exec_id, size, price, stamp))
            v.filled += size
            new.append(exec_id)
            self._book(order, size, price)
            commission = max(COMMISSION_MIN, size * COMMISSION_PER_SHARE)
            order.commission[exec_id] = commission
            self.cash -= commission
        if v.filled == v.qty:
            v.status = "Filled"
        conn = self.conns.get(v.client_id)
        if conn is None or silent:
            return
        exec_rows = [e for e in order.executions if e[0] in new]
        batches = list(reversed(exec_rows)) if self.reorder else exec_rows
        for row in batches:
            for _ in range(2 if self.duplicate else 1):
                self._send_execs(conn, order, [row], -1)
        self._report(order, conn)
        for exec_id in new:
            if self.hold_commissions:
                self.held.append((exec_id, order.commission[exec_id]))
            else:
                conn.send(wire.commission_report(exec_id, order.commission[exec_id], "USD"))
        if v.status == "Filled" and v.oca_group:
            self._cancel_oca(order)
        if v.status == "Filled":
            for child in self.orders.values():
                cv = child.view
                mine = cv.parent_id == v.order_id and cv.client_id == v.client_id
                if mine and self._marketable(child) and not child.done:
                    self._fill(child, child.leaves)

    def _book(self, order: FakeOrder, qty: Decimal, price: Decimal) -> None:
        v = order.view
        signed = qty if v.action == "BUY" else -qty
        mult = Decimal(v.contract.multiplier or 1)
        self.cash -= signed * price * mult
        key = (v.account, v.contract.symbol)
        held, cost = self.positions.get(key, (Decimal(0), Decimal(0)))
        new = held + signed
        if new == 0:
            self.positions.pop(key, None)
            return
        if held == 0 or (held > 0) == (signed > 0):
            cost = (held * cost + signed * price) / new
        elif (new > 0) != (held > 0):
            cost = price
        self.positions[key] = (new, cost)

    def release_commissions(self) -> None:
        """Send the commission reports held back (each after its fill)."""
        with self.lock:
            held, self.held = self.held, []
        for exec_id, commission in held:
            for conn in self._all():
                conn.send(wire.commission_report(exec_id, commission, "USD"))

    def originate(self, action: str, qty: Decimal, symbol: str = "AAPL") -> FakeOrder:
        """A market order from the TWS screen (client 0, no orderRef), filled at once."""
        with self.lock:
            order = FakeOrder(
                OrderView(
                    order_id=0,
                    client_id=0,
                    perm_id=next(self._perm),
                    contract=CONTRACTS[symbol],
                    action=action,
                    qty=qty,
                    order_type="MKT",
                    lmt=None,
                    aux=None,
                    tif="DAY",
                    oca_group="",
                    account=self.account,
                    order_ref="",
                    parent_id=0,
                    status="Submitted",
                    filled=Decimal(0),
                )
            )
            self.orders[(0, -order.view.perm_id)] = order
            self._fill_broadcast(order)
            return order

    def _fill_broadcast(self, order: FakeOrder) -> None:
        self._fill(order, order.leaves, silent=True)
        for conn in self._all():
            self._report(order, conn)
            self._send_execs(conn, order, order.executions, -1)
            for exec_id, *_ in order.executions:
                conn.send(wire.commission_report(exec_id, order.commission[exec_id], "USD"))

    def by_ref(self, order_ref: str) -> list[FakeOrder]:
        with self.lock:
            return [o for o in self.orders.values() if o.view.order_ref == order_ref]


#: placeOrder's ocaType: after parentId (index 28) come blockOrder, sweepToFill,
#: displaySize, triggerMethod, outsideRth, hidden, the empty shares allocation,
#: discretionaryAmt, goodAfterTime, goodTillDate, faGroup, faMethod, faPercentage,
#: modelCode, shortSaleSlot, designatedLocation, exemptCode: ocaType is index 46
_OCA_TYPE = 46
_DISPLAY_SIZE = 31
