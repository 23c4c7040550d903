// A TCP relay that can be cut and restored on the same port: a dependency (Temporal) becoming
// unreachable for whatever reaches it only through the relay, then coming back.
import net from 'node:net';

/** A TCP relay to Temporal that can be cut (connections dropped, new ones refused) and restored on the same port. */
export async function cuttableRelay(target: string): Promise<{ address: string; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const listen = (onPort: number) => new Promise<void>((resolve) => server.listen(onPort, '127.0.0.1', resolve));
  await listen(0);
  const relayPort = (server.address() as net.AddressInfo).port;
  const cut = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  return { address: `127.0.0.1:${relayPort}`, cut, restore: () => listen(relayPort), close: () => (server.listening ? cut() : Promise.resolve()) };
}
