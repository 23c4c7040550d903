// The controller container's HEALTHCHECK: GET /healthz on the API listener (the agents' listener
// when ROLES has no api; the metrics listener when ROLES is worker only and METRICS_PORT is set);
// exit 0 on 200. Plain JavaScript: it runs as is in the image, with nothing to compile.
import http from 'node:http';
import https from 'node:https';
import process from 'node:process';

const env = process.env;
const roles = (env.ROLES || 'api,hub,worker').split(',').map((r) => r.trim());
const port = roles.includes('api') ? env.PORT || '8080' : roles.includes('hub') ? env.AGENT_PORT || '8081' : env.METRICS_PORT;
if (!port) {
  process.stdout.write('no listener to ask: a worker-only controller needs METRICS_PORT for its health check\n');
  process.exit(1);
}
// The listeners serve TLS when TLS_CERT is set; the certificate names the public host, not loopback.
const client = env.TLS_CERT ? https : http;
const req = client.get({ host: '127.0.0.1', port: Number(port), path: '/healthz', timeout: 4000, rejectUnauthorized: false }, (res) => {
  let body = '';
  res.setEncoding('utf8').on('data', (s) => (body += s));
  res.on('end', () => {
    process.stdout.write(`${res.statusCode} ${body.slice(0, 500)}\n`);
    process.exit(res.statusCode === 200 ? 0 : 1);
  });
});
req.on('timeout', () => req.destroy(new Error('timed out')));
req.on('error', (err) => {
  process.stdout.write(`${err.message}\n`);
  process.exit(1);
});
