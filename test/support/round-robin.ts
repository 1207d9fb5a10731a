/**
 * A plain round-robin TCP balancer on loopback, as a test stands in for the load balancer in front of
 * hub replicas: each new connection goes to the next backend, and a backend that refuses the
 * connection is skipped for the next one (what nginx's `proxy_next_upstream error` or HAProxy's
 * `option redispatch` do). Connections already open to a backend that dies are cut, as they would be.
 */
import net from 'node:net';

export interface RoundRobin {
  url: string;
  /** Connections each backend accepted, by backend index. */
  connections: number[];
  close(): Promise<void>;
}

export async function startRoundRobin(backends: { host: string; port: number }[]): Promise<RoundRobin> {
  const connections = backends.map(() => 0);
  const open = new Set<net.Socket>();
  let next = 0;
  const connect = (client: net.Socket, tries: number) => {
    if (tries >= backends.length) {
      client.destroy();
      return;
    }
    const index = next++ % backends.length;
    const upstream = net.connect(backends[index]!);
    open.add(upstream);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      connections[index]!++;
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      if (!connected) connect(client, tries + 1);
    });
    upstream.once('close', () => {
      open.delete(upstream);
      if (connected) client.destroy();
    });
  };
  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.on('error', () => {});
    connect(client, 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
