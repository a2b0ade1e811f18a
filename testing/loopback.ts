import type * as http from 'http';
import type { AddressInfo } from 'net';

/** Starts a test double on a free port of 127.0.0.1 (never another address) and returns its URL. */
export async function listenOnLoopback(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Stops a double, dropping kept-alive connections so the test process can exit. */
export async function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
