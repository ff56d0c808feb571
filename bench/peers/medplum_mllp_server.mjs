// Reference MLLP peer for bench/mllp_ingest.sh: a server built on Medplum's
// @medplum/hl7 (Hl7Server / Hl7Connection) that parses every message and
// answers with the library's own AA ACK (Hl7Message.buildAck). It persists
// nothing, so it is the ceiling of "parse + ACK" for a widely used Node.js
// HL7 stack, not a like-for-like durable hub.
//
// Usage: node medplum_mllp_server.mjs [PORT]   (PORT 0 or omitted = any free port)
// Prints "listening <port>" on stdout once it accepts connections.
import { Hl7Server } from '@medplum/hl7';

const port = Number.parseInt(process.argv[2] ?? '0', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`bad port: ${process.argv[2]}`);
  process.exit(2);
}

let received = 0;
const server = new Hl7Server((connection) => {
  connection.addEventListener('message', ({ message }) => {
    // The connection has already parsed the frame into an Hl7Message.
    received++;
    connection.send(message.buildAck({ ackCode: 'AA' }));
  });
  connection.addEventListener('error', (event) => {
    console.error(`connection error: ${event.error?.message ?? event.error}`);
  });
});

// Hl7Server.start(port, encoding?) listens on all interfaces.
await server.start(port, 'utf-8');
console.log(`listening ${server.server.address().port}`);

const shutdown = async () => {
  console.error(`received ${received} messages`);
  await server.stop({ forceDrainTimeoutMs: 1000 }).catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
