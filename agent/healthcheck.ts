// The agent container's HEALTHCHECK (compiled to /app/healthcheck.js): exit 0 when STATE_DIR/status.json
// is fresh and says connected or holding saved links, else print why and exit 1.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { STATUS_FILE, judgeStatus } from './status-file';

const file = path.join(process.env.STATE_DIR || '/var/lib/ipsec-agent', STATUS_FILE);
let text: string | undefined;
try {
  text = readFileSync(file, 'utf8');
} catch {
  text = undefined;
}
const verdict = judgeStatus(text, new Date());
process.stdout.write(`${verdict.reason}\n`);
process.exit(verdict.healthy ? 0 : 1);
