import type { AddressInfo } from 'node:net';
import { buildApp } from '../../server/app.ts';

// The API as a child process the fault tests can SIGKILL: `node --import tsx serve-child.ts <database-url>`
// listens on 127.0.0.1 (a free port) and prints "listening <port>" once it accepts connections.

const databaseUrl = process.argv[2];
if (!databaseUrl) throw new Error('usage: serve-child.ts <database-url>');
const app = await buildApp({ databaseUrl, webDist: false, rateLimit: { max: 1e9 } });
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening ${(app.server.address() as AddressInfo).port}\n`);
