// A pass-through TCP proxy in front of a gearmand, whose connections a spec can cut: a connection
// failure while the server itself stays up.
import net from 'node:net';

export interface TcpProxy {
  /** '127.0.0.1:<port>' of the proxy. */
  host: string;
  /** Destroys every proxied connection (both sides); new connections are still accepted. */
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  };
  const server = net.createServer((down) => {
    const up = net.connect(targetPort, '127.0.0.1');
    track(down);
    track(up);
    down.pipe(up).pipe(down);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    cut() {
      for (const s of sockets) s.destroy();
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
